import { randomBytes } from 'node:crypto';
import net from 'node:net';
import pg from 'pg';
import type { TemporalClusterSettings } from '../../config';
import { ensureBinary } from '../binaries';
import { freePorts } from '../ports';
import { HISTORY_PORT_STEP } from './topology';
import {
  startTemporalCluster,
  type TemporalCluster,
  type TemporalClusterBinaries,
  type TemporalClusterOptions,
} from './cluster';

export interface PrivateClusterOptions extends Pick<
  TemporalClusterOptions,
  'dir' | 'logDir' | 'detached' | 'onStarted' | 'onStopped' | 'log'
> {
  /** A PostgreSQL server (any database in the URL): the cluster's two databases are created there. */
  postgresUrl: string;
  /** Prefix of the two new databases' names; `<prefix>_<random>` and `<prefix>_<random>_visibility`. */
  databasePrefix: string;
  historyHosts?: number;
  historyShards?: number;
  namespace?: string;
  /** A Web UI on a free port as well. */
  withUi?: boolean;
}

export interface PrivateCluster extends TemporalCluster {
  /** Stops the cluster and drops its databases. */
  destroy(): Promise<void>;
}

/**
 * A cluster of its own for a test run, the fault suite or the benchmark: every port free, two
 * fresh databases on the given PostgreSQL, dropped again by `destroy`. Builds the binaries if needed.
 */
export async function startPrivateCluster(options: PrivateClusterOptions): Promise<PrivateCluster> {
  const binaries = await clusterBinaries(options.log ?? (() => undefined), options.withUi === true);
  const layout = await privateClusterLayout(options);
  let cluster: TemporalCluster;
  try {
    cluster = await startTemporalCluster({
      ...options,
      binaries,
      frontendPort: layout.frontendPort,
      settings: layout.settings,
      namespace: options.namespace ?? 'default',
      retentionDays: 1,
      uiPort: options.withUi ? layout.settings.ports.ui : undefined,
    });
  } catch (error) {
    await layout.dropDatabases().catch(() => undefined);
    throw error;
  }
  return {
    ...cluster,
    async destroy() {
      await cluster.stop();
      await layout.dropDatabases();
    },
  };
}

/** The server, its schema tool, the CLI and (if wanted) the Web UI, built when missing. */
export async function clusterBinaries(log: (line: string) => void, withUi: boolean): Promise<TemporalClusterBinaries> {
  return {
    server: await ensureBinary('temporal-server', log),
    sqlTool: await ensureBinary('temporal-sql-tool', log),
    cli: await ensureBinary('temporal', log),
    ui: withUi ? await ensureBinary('temporal-ui-server', log) : undefined,
  };
}

export interface PrivateClusterLayout {
  frontendPort: number;
  settings: TemporalClusterSettings;
  dropDatabases(): Promise<void>;
}

/**
 * Free ports for every node and names for two new databases: fixed once, so a caller that stops
 * and starts the cluster again (the fault suite) gets the same cluster back.
 */
export async function privateClusterLayout(
  options: Pick<PrivateClusterOptions, 'postgresUrl' | 'databasePrefix' | 'historyHosts' | 'historyShards'>,
): Promise<PrivateClusterLayout> {
  const historyHosts = options.historyHosts ?? 2;
  const [frontend, frontendHttp, matching, worker, uiPort] = (await freePorts(5)) as [
    number,
    number,
    number,
    number,
    number,
  ];
  // Membership ports are stored as a smallint: below 32768, where the OS hands out none.
  const [frontendMembership, matchingMembership, workerMembership] = (await freeMembershipPorts(
    3,
    new Set([frontend, frontendHttp, matching, worker, uiPort]),
  )) as [number, number, number];
  // Each history host takes its ports 10 above the previous one: give each its own free pair, clear
  // of the ports just chosen (free, but not held: the OS hands out nearby ones in a row).
  const taken = new Set([
    frontend,
    frontendHttp,
    matching,
    worker,
    uiPort,
    frontendMembership,
    matchingMembership,
    workerMembership,
  ]);
  const historyPorts = await freeSteppedPorts(historyHosts, taken);
  const name = `${options.databasePrefix}_${randomBytes(4).toString('hex')}`;
  const url = new URL(options.postgresUrl);
  url.pathname = `/${name}`;
  const settings: TemporalClusterSettings = {
    historyShards: options.historyShards ?? 4,
    historyHosts,
    databaseUrl: url.toString(),
    visibilityDatabase: `${name}_visibility`,
    ports: {
      frontendHttp,
      frontendMembership,
      history: historyPorts.grpc,
      historyMembership: historyPorts.membership,
      matching,
      matchingMembership,
      worker,
      workerMembership,
      ui: uiPort,
    },
  };
  return {
    frontendPort: frontend,
    settings,
    dropDatabases: () => dropAll(options.postgresUrl, [name, settings.visibilityDatabase]),
  };
}

const MEMBERSHIP_PORTS = { from: 20_000, to: 32_000 };

/** A base gRPC and membership port for which base + 10 n is free, and not `taken`, for every host n (checked now). */
async function freeSteppedPorts(
  hosts: number,
  taken: ReadonlySet<number>,
): Promise<{ grpc: number; membership: number }> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const [grpc] = (await freePorts(1)) as [number];
    const membership = randomMembershipPort();
    const wanted = Array.from({ length: hosts }, (_, n) => [
      grpc + HISTORY_PORT_STEP * n,
      membership + HISTORY_PORT_STEP * n,
    ]).flat();
    const clear = wanted.every((port) => port < 65536 && !taken.has(port)) && new Set(wanted).size === wanted.length;
    if (clear && (await allFree(wanted))) return { grpc, membership };
  }
  throw new Error('could not find free ports for the history hosts');
}

/** `count` distinct membership ports that are free now and not `taken` (free ports share their range). */
async function freeMembershipPorts(count: number, taken: ReadonlySet<number>): Promise<number[]> {
  const found = new Set<number>();
  while (found.size < count) {
    const port = randomMembershipPort();
    if (!found.has(port) && !taken.has(port) && (await allFree([port]))) found.add(port);
  }
  return [...found];
}

function randomMembershipPort(): number {
  return MEMBERSHIP_PORTS.from + (randomBytes(2).readUInt16BE() % (MEMBERSHIP_PORTS.to - MEMBERSHIP_PORTS.from));
}

async function allFree(ports: number[]): Promise<boolean> {
  const results = await Promise.all(
    ports.map(
      (port) =>
        new Promise<boolean>((resolve) => {
          const server = net.createServer();
          server.once('error', () => resolve(false));
          server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
        }),
    ),
  );
  return results.every(Boolean);
}

async function dropAll(postgresUrl: string, databases: string[]): Promise<void> {
  const url = new URL(postgresUrl);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    for (const database of databases)
      await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
