import { readdirSync } from 'node:fs';
import pg from 'pg';
import { migrate, MIGRATIONS_DIR } from '../src/db/migrate';
import { createLogger } from '../src/logger';
import { dropDatabase, uniqueDatabaseUrl } from './setup/databases';

describe('migrations', () => {
  const logger = createLogger('migrations-test', 'silent');
  // A brand-new database of its own, not the one the global setup already migrated.
  const databaseUrl = uniqueDatabaseUrl(process.env.DATABASE_URL ?? '', 'orders_migrations_test');

  afterAll(async () => {
    await dropDatabase(databaseUrl);
  });

  it('apply every sql/ file in order on an empty database, then nothing on a second run', async () => {
    const files = readdirSync(MIGRATIONS_DIR)
      .filter((file) => file.endsWith('.sql'))
      .map((file) => file.replace(/\.sql$/, ''))
      .sort();
    expect(files.length).toBeGreaterThan(0);

    await expect(migrate(databaseUrl, logger)).resolves.toEqual(files);

    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const tables = await client.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
      );
      expect(tables.rows.map((row) => row.table_name)).toEqual(
        expect.arrayContaining(['products', 'orders', 'order_items', 'payments', 'pgmigrations']),
      );
      const recorded = await client.query<{ name: string }>('SELECT name FROM pgmigrations ORDER BY run_on, id');
      expect(recorded.rows.map((row) => row.name)).toEqual(files);
    } finally {
      await client.end();
    }

    await expect(migrate(databaseUrl, logger)).resolves.toEqual([]);
  });
});
