import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, statSync, chownSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { findOnPath } from '../../src/tools/go-binary';
import { exitedEarlyError, spawnService, type ManagedProcess } from './managed-process';
import { waitForPort, waitUntil } from './ports';

export interface PostgresOptions {
  /** The cluster's data directory; initdb runs on first use. */
  dataDir: string;
  port: number;
  detached: boolean;
  /** Defaults to `<dataDir>.log`. */
  logFile?: string;
  host?: string;
  readyTimeoutMs?: number;
}

interface RunAs {
  uid: number;
  gid: number;
}

/**
 * A private PostgreSQL cluster with trust authentication for the local `postgres` role, resolved once
 * it answers queries. PostgreSQL refuses to run as root, so as root it runs as the postgres user.
 */
export async function startPostgres(options: PostgresOptions): Promise<ManagedProcess> {
  const host = options.host ?? '127.0.0.1';
  const logFile = options.logFile ?? `${options.dataDir}.log`;
  const binDir = await findPostgresBinDir();
  const runAs = process.getuid?.() === 0 ? postgresUser() : undefined;

  prepareDataDir(options.dataDir, runAs);
  if (!existsSync(path.join(options.dataDir, 'PG_VERSION'))) {
    await runToLog(
      path.join(binDir, 'initdb'),
      ['-D', options.dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale'],
      logFile,
      runAs,
    );
  }

  const service = await spawnService({
    name: 'postgres',
    command: path.join(binDir, 'postgres'),
    // TCP only: a socket path under a deep data folder can exceed the OS limit.
    args: ['-D', options.dataDir, '-p', String(options.port), '-c', `listen_addresses=${host}`, '-c', 'unix_socket_directories='],
    logFile,
    detached: options.detached,
    uid: runAs?.uid,
    gid: runAs?.gid,
    // SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for every client to leave.
    stopSignal: 'SIGINT',
  });
  try {
    const timeoutMs = options.readyTimeoutMs ?? 60_000;
    const abort = (): Error | undefined => exitedEarlyError(service);
    await waitForPort(host, options.port, timeoutMs, abort);
    // The port opens while the server is still starting up and refusing connections.
    await waitUntil(() => answersQueries(host, options.port), {
      timeoutMs,
      intervalMs: 200,
      description: `PostgreSQL at ${host}:${options.port}`,
      abort,
    });
  } catch (error) {
    await service.stop();
    throw error;
  }
  return service;
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
      throw new Error(`The postgres user cannot reach ${dataDir}: ${dir} is not searchable by others (chmod o+x ${dir})`);
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

async function answersQueries(host: string, port: number): Promise<boolean> {
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
