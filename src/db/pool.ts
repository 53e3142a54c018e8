import { createPool, createTypeParserPreset, type DatabasePool, type Interceptor } from 'slonik';
import { databaseErrors } from '../observability/metrics';
import { isDatabaseUnavailable } from './unavailable';

export type { DatabasePool };

/**
 * Every row is checked against the zod schema its query was typed with (`sql.type(schema)`),
 * so a schema drift fails loudly at the query instead of somewhere downstream.
 */
const rowSchemaCheck: Interceptor = {
  name: 'row-schema-check',
  transformRow: (context, query, row) => {
    const parser = context.resultParser;
    if (!parser) return row;
    const parsed = parser.safeParse(row);
    if (!parsed.success) {
      throw new Error(
        `Row does not match its schema (${parsed.error.issues[0]?.path.join('.')}): ${query.sql.slice(0, 80)}`,
      );
    }
    return parsed.data as typeof row;
  },
};

/** Every failed statement, in orders_database_errors_total. */
const errorCount: Interceptor = {
  name: 'error-count',
  queryExecutionError: (_context, _query, error) => {
    databaseErrors.inc({ kind: isDatabaseUnavailable(error) ? 'unavailable' : 'query' });
    return null;
  },
};

// int8 holds cents and counts, far below 2^53: plain numbers are exact and easier to serialise.
const typeParsers = [
  ...createTypeParserPreset().filter((parser) => parser.name !== 'int8'),
  { name: 'int8', parse: (value: string) => Number(value) },
];

/**
 * One slonik pool per process, passed to whatever needs the database. A connection goes back to
 * the pool as it is: slonik would otherwise send `DISCARD ALL` after every query and transaction,
 * a round trip that also throws away the session's query plans. Nothing here keeps state in a
 * session: settings are `set_config(..., true)` and locks `pg_advisory_xact_lock`, both ending
 * with their transaction.
 */
export async function createDatabasePool(databaseUrl: string): Promise<DatabasePool> {
  return createPool(databaseUrl, {
    maximumPoolSize: 10,
    connectionTimeout: 5_000,
    statementTimeout: 10_000,
    idleTimeout: 30_000,
    interceptors: [rowSchemaCheck, errorCount],
    typeParsers,
    resetConnection: async () => {},
  });
}

/**
 * Ends the pool. Connections an outage already broke cannot be closed politely; that is not a
 * reason to fail a shutdown, so those errors are ignored.
 */
export async function closeDatabasePool(pool: DatabasePool): Promise<void> {
  try {
    await pool.end();
  } catch (error) {
    if (!isDatabaseUnavailable(error)) throw error;
  }
}
