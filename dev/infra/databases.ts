import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The same server, credentials and options, another database. */
export function withDatabase(databaseUrl: string, database: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** `databaseUrl` with its database replaced by a new random name starting with `prefix`. */
export function uniqueDatabaseUrl(databaseUrl: string, prefix: string): string {
  return withDatabase(databaseUrl, `${prefix}_${randomBytes(4).toString('hex')}`);
}

/** Runs `use` with a client on the server `databaseUrl` names, and the name of its database. */
async function onServer<T>(databaseUrl: string, use: (client: pg.Client, name: string) => Promise<T>): Promise<T> {
  const target = new URL(databaseUrl);
  const name = decodeURIComponent(target.pathname.slice(1));
  target.pathname = '/postgres';
  const client = new pg.Client({ connectionString: target.toString() });
  await client.connect();
  try {
    return await use(client, name);
  } finally {
    await client.end();
  }
}

/** Drops a database even if a client left connections open. */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  await onServer(databaseUrl, (client, name) =>
    client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`),
  );
}

/** Whether the database `databaseUrl` names exists. */
export function databaseExists(databaseUrl: string): Promise<boolean> {
  return onServer(
    databaseUrl,
    async (client, name) => (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1,
  );
}
