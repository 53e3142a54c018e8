import { parseConfig } from '../../src/config';
import { migrate } from '../../src/db/migrate';
import { closeDatabasePool, createDatabasePool, type DatabasePool } from '../../src/db/pool';
import { createLogger } from '../../src/logger';
import { dropDatabase, uniqueDatabaseUrl } from '../setup/databases';

export interface OwnDatabase {
  pool: DatabasePool;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/**
 * A migrated database of a test file's own on the run's PostgreSQL, with a pool on it: for rows no
 * workflow owns, which the run's audit would rightly report in the shared database.
 */
export async function createOwnDatabase(prefix: string): Promise<OwnDatabase> {
  const url = uniqueDatabaseUrl(parseConfig(process.env).databaseUrl, prefix);
  try {
    await migrate(url, createLogger('test', 'silent'));
    const pool = await createDatabasePool(url);
    return {
      pool,
      async drop() {
        await closeDatabasePool(pool);
        await dropDatabase(url);
      },
    };
  } catch (error) {
    await dropDatabase(url).catch(() => undefined);
    throw error;
  }
}
