import { createPool, type DatabasePool } from 'slonik';

export type { DatabasePool };

/** One slonik pool per process, passed to whatever needs the database. */
export async function createDatabasePool(databaseUrl: string): Promise<DatabasePool> {
  return createPool(databaseUrl, {
    maximumPoolSize: 10,
    connectionTimeout: 5_000,
    statementTimeout: 10_000,
    // Activities retry on their own schedule; the pool should fail fast rather than queue for ever.
    idleTimeout: 30_000,
  });
}
