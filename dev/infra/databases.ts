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

/** Drops a database even if a client left connections open. */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  const target = new URL(databaseUrl);
  const name = decodeURIComponent(target.pathname.slice(1));
  target.pathname = '/postgres';
  const client = new pg.Client({ connectionString: target.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
