import { execFile } from 'node:child_process';
import pg from 'pg';
import type { ClusterPersistence } from './server-config';

/**
 * The schemas the server's schema tool embeds (the module's schema/postgresql/v12/<name>/versioned
 * folders): the same versions as the server built from the same tag.
 */
const SCHEMAS = { persistence: 'postgresql/v12/temporal', visibility: 'postgresql/v12/visibility' } as const;

export interface SchemaOutcome {
  database: string;
  created: boolean;
}

/**
 * Creates the persistence and visibility databases when they are missing, then brings their schemas
 * to the tool's latest version: `setup-schema -v 0.0` (the version table; a no-op once there) and
 * `update-schema` (applies only the versions still missing, each in turn, oldest first: a database
 * left by an older server goes through every schema version in between). Safe to run on every start.
 * Raising the server itself one minor version at a time is the operator's part (docs/upgrades.md).
 */
export async function ensureClusterSchemas(sqlTool: string, db: ClusterPersistence): Promise<SchemaOutcome[]> {
  const outcomes: SchemaOutcome[] = [];
  const targets = [
    [db.database, SCHEMAS.persistence],
    [db.visibilityDatabase, SCHEMAS.visibility],
  ] as const;
  for (const [database, schemaName] of targets) {
    const created = !(await databaseExists(db, database));
    if (created) await runSqlTool(sqlTool, db, database, ['create-database']);
    await runSqlTool(sqlTool, db, database, ['setup-schema', '-v', '0.0']);
    await runSqlTool(sqlTool, db, database, ['update-schema', '--schema-name', schemaName]);
    outcomes.push({ database, created });
  }
  return outcomes;
}

/** The tool's own connection flags; the password travels in its environment, not in argv. */
function runSqlTool(sqlTool: string, db: ClusterPersistence, database: string, command: string[]): Promise<string> {
  const args = [
    '--plugin',
    'postgres12',
    '--endpoint',
    db.host,
    '--port',
    String(db.port),
    '--user',
    db.user,
    '--database',
    database,
    ...command,
  ];
  return new Promise((resolve, reject) => {
    execFile(
      sqlTool,
      args,
      { env: { ...process.env, SQL_PASSWORD: db.password }, timeout: 120_000 },
      (error, stdout, stderr) => {
        if (error)
          reject(
            new Error(
              `temporal-sql-tool ${command.join(' ')} on ${database} failed: ${`${stdout}${stderr}`.trim() || error.message}`,
            ),
          );
        else resolve(`${stdout}${stderr}`);
      },
    );
  });
}

async function databaseExists(db: ClusterPersistence, database: string): Promise<boolean> {
  const client = new pg.Client({
    host: db.host,
    port: db.port,
    user: db.user,
    password: db.password,
    database: 'postgres',
  });
  await client.connect();
  try {
    const result = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    return result.rowCount === 1;
  } finally {
    await client.end();
  }
}

/** A PostgreSQL URL as the server's config and the schema tool want it. */
export function persistenceFromUrl(databaseUrl: string, visibilityDatabase: string): ClusterPersistence {
  const url = new URL(databaseUrl);
  return {
    host: url.hostname,
    port: url.port ? Number(url.port) : 5432,
    user: decodeURIComponent(url.username) || 'postgres',
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.slice(1)) || 'temporal',
    visibilityDatabase,
  };
}
