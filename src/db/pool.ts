import { createPool, createTypeParserPreset, SchemaValidationError, type DatabasePool, type Interceptor } from 'slonik';
import { databaseErrors } from '../observability/metrics';
import { isDatabaseUnavailable } from './unavailable';

export type { DatabasePool };

/**
 * Every row is checked against the schema its query was typed with (`sql.type(schema)`, a zod
 * schema, which slonik holds as a Standard Schema), so a schema drift fails loudly at the query
 * instead of somewhere downstream: slonik's SchemaValidationError, with the statement, the row and
 * the issues. The row returned is the schema's output (its transforms applied).
 */
const rowSchemaCheck: Interceptor = {
  name: 'row-schema-check',
  transformRow: (context, query, row) => {
    const parser = context.resultParser;
    if (!parser) return row;
    const result = parser['~standard'].validate(row);
    // Row schemas are plain zod objects: no async refinements, so the check is synchronous.
    if (result instanceof Promise) throw new TypeError(`Row schema of an async kind: ${query.sql.slice(0, 80)}`);
    if (result.issues) throw new SchemaValidationError(query, row, result.issues);
    return result.value as typeof row;
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
  const pool = await createPool(databaseUrl, {
    maxPoolSize: 10,
    connectionTimeout: 5_000,
    statementTimeout: 10_000,
    idleTimeout: 30_000,
    interceptors: [rowSchemaCheck, errorCount],
    typeParsers,
    resetConnection: async () => {},
  });
  // slonik also emits every failed statement's error on the pool (its connections' emitter, in a
  // transaction too) before it throws it to the caller, who handles it (errorCount counts it).
  // Without a listener Node would throw "Unhandled error." (ERR_UNHANDLED_ERROR) in its place.
  pool.on('error', () => undefined);
  return pool;
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
