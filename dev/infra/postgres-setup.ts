import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, statSync, chownSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { findOnPath } from '../../src/tools/go-binary';

/** Who a server started as root runs as: PostgreSQL refuses to run as root. */
export interface RunAs {
  uid: number;
  gid: number;
}

/**
 * Readies a private PostgreSQL cluster's data directory: owned by the postgres user when we are
 * root (the user it then runs as), and initialised on first use with trust authentication for the
 * local `postgres` role. `postgres` is the server executable; initdb sits beside it.
 */
export async function preparePostgresDataDir(
  postgres: string,
  dataDir: string,
  logFile: string,
): Promise<RunAs | undefined> {
  const runAs = process.getuid?.() === 0 ? postgresUser() : undefined;
  prepareDataDir(dataDir, runAs);
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    await runToLog(
      path.join(path.dirname(postgres), 'initdb'),
      ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale'],
      logFile,
      runAs,
    );
  }
  return runAs;
}

/** The `postgres` server executable: Debian's newest, or the one beside initdb on the PATH. */
export async function findPostgres(): Promise<string> {
  return path.join(await findPostgresBinDir(), 'postgres');
}

/** Debian's newest server binaries, or initdb/postgres on the PATH. */
async function findPostgresBinDir(): Promise<string> {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((entry) => existsSync(path.join(root, entry, 'bin', 'initdb')))
        .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
    : [];
  if (versions[0] !== undefined) return path.join(root, versions[0], 'bin');
  const initdb = await findOnPath('initdb');
  if (initdb) return path.dirname(initdb);
  throw new Error('PostgreSQL server binaries not found: install them (apt-get install postgresql)');
}

function postgresUser(): RunAs {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error('PostgreSQL refuses to run as root and there is no "postgres" user to run it as');
  }
}

function prepareDataDir(dataDir: string, runAs: RunAs | undefined): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (!runAs) return;
  chownSync(dataDir, runAs.uid, runAs.gid);
  // The postgres user must be able to reach its data directory through every parent folder.
  for (let dir = path.dirname(dataDir); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) {
      throw new Error(
        `The postgres user cannot reach ${dataDir}: ${dir} is not searchable by others (chmod o+x ${dir})`,
      );
    }
  }
}

function runToLog(command: string, args: string[], logFile: string, runAs: RunAs | undefined): Promise<void> {
  mkdirSync(path.dirname(logFile), { recursive: true });
  const out = openSync(logFile, 'a');
  return new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', out, out], uid: runAs?.uid, gid: runAs?.gid });
    closeSync(out);
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(command)} failed (exit ${code}); see ${logFile}`)),
    );
  });
}

/** True once the server accepts a connection and answers a query as `postgres`. */
export async function answersQueries(host: string, port: number): Promise<boolean> {
  const client = new pg.Client({ host, port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 1_000 });
  // A failed connect also emits 'error'; without a listener it would crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
