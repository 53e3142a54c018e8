import { execFile } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { METRICS_OFF } from '../src/config';
import { createDatabasePool, closeDatabasePool } from '../src/db/pool';
import { ensureDatabase, migrate } from '../src/db/migrate';
import { ensureBinary } from '../dev/infra/binaries';
import type { ManagedProcess } from '../dev/infra/managed-process';
import { appProcessEnv, buildApps, type AppRuntime } from '../dev/infra/app-process';
import { freePorts } from '../dev/infra/ports';
import type { ServiceStartOptions } from '../dev/infra/service-table';
import { startService } from '../dev/infra/start-service';
import { registerSearchAttributes } from '../dev/infra/temporal-cli';
import { DEV_SERVER_DYNAMIC_CONFIG, type DynamicConfig } from '../dev/infra/temporal-dev-server';
import { createLogger } from '../src/logger';
import { seedProducts } from '../src/products/seed';
import { bundleWorkflows } from '../src/scripts/bundle-workflows';
import type { SystemId } from './flags';
import { ProcessTrees } from './proc-stats';
import { startReaper } from '../dev/infra/reaper';
import { startTemporalCluster } from '../dev/infra/temporal-cluster/cluster';
import { clusterBinaries, privateClusterLayout } from '../dev/infra/temporal-cluster/private-cluster';
import { startAppChild, type AppChild } from './app-child';

/**
 * The whole system on infrastructure of its own, under one temporary folder: a Temporal dev server,
 * NATS with JetStream, a private PostgreSQL cluster (so its CPU can be told apart), stripe-mock, the
 * service's four processes and the floors' processes. Modelled on the fault suite's system.
 */

export type AppName =
  'products' | 'payments' | 'worker' | 'gateway' | 'seed-pipeline' | 'empty-worker' | 'empty-gateway';

const APP_SCRIPTS: Record<AppName, string> = {
  products: 'src/products/main.ts',
  payments: 'src/payments/main.ts',
  worker: 'src/worker/main.ts',
  gateway: 'src/gateway/main.ts',
  'seed-pipeline': 'bench/floors/seed-pipeline.ts',
  'empty-worker': 'bench/floors/empty-worker.ts',
  'empty-gateway': 'bench/floors/empty-gateway.ts',
};

/** Apps that `--replicas` runs as several processes, summed under their name in every reading. */
const REPLICATED: readonly AppName[] = ['worker', 'gateway'];

/** Which processes do the work of each system (the bench and the poller's queries are shared). */
export const SYSTEM_PROCESSES: Record<SystemId, string[]> = {
  service: ['temporal', 'nats', 'postgres', 'stripe-mock', 'products', 'payments', 'worker', 'gateway', 'bench'],
  seed: ['nats', 'postgres', 'stripe-mock', 'products', 'payments', 'seed-pipeline', 'bench'],
  empty: ['temporal', 'nats', 'postgres', 'empty-worker', 'empty-gateway', 'bench'],
};

export const REPO_ROOT = path.resolve(__dirname, '..');
const OWN_PREFIXES = [
  'TEMPORAL_',
  'NATS_',
  'DATABASE_',
  'STRIPE_',
  'PAYMENTS_',
  'PRODUCTS_',
  'ORDER_',
  'BENCH_',
  'LOG_LEVEL',
];

export interface StackOptions {
  temporal: 'file' | 'memory' | 'cluster';
  /** History processes when `temporal` is `cluster`. */
  historyHosts: number;
  untuned: boolean;
  /** Dynamic config values on top of the dev server's (tuned or untuned). */
  dynamicConfig?: DynamicConfig;
  /** Environment variables for the service's own processes (worker, gateway, products, payments). */
  appEnv?: Record<string, string>;
  /** How the service's own processes run: compiled, as `npm start` runs them, or through tsx. The floors' run through tsx. */
  appRuntime: AppRuntime;
  emptyActivities: 'remote' | 'local';
  /** Write V8 CPU profiles of the service's processes into the logs folder. */
  cpuProfile?: boolean;
  /** Processes each of the worker and the gateway runs as. */
  replicas: number;
  /** Floors whose processes and databases are needed. */
  floors: { seed: boolean; empty: boolean };
  log: (line: string) => void;
}

export interface Stack {
  tempDir: string;
  natsUrl: string;
  temporalAddress: string;
  databaseUrls: Record<SystemId, string>;
  trees: ProcessTrees;
  /** The dev server's (or the cluster frontend's) command line as it runs (shows which dynamic config it got). */
  temporalArgs: string[];
  temporalVersion: string;
  /** Stops and starts one app, every replica of it (the worker before the memory run, so its memory starts from zero). */
  restartApp(name: AppName): Promise<void>;
  /** Apps that exited without being told to. */
  unexpectedExits(): string[];
  /** Stops everything and removes the temporary folder, first copying its logs to `keepLogsIn` if given. */
  close(keepLogsIn?: string): Promise<void>;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const { log } = options;
  const tempDir = mkdtempSync(path.join(os.tmpdir(), 'orders-bench-'));
  // PostgreSQL runs as the postgres user when we are root and must reach its data folder in here.
  chmodSync(tempDir, 0o755);
  const reaper = startReaper(tempDir);
  const trees = new ProcessTrees();
  trees.set('bench', process.pid);
  const infra = new Map<string, ManagedProcess>();
  const apps = new Map<AppName, AppChild[]>();
  const stopping = new Set<AppName>();
  const exits: string[] = [];

  let closed = false;
  const close = async (keepLogsIn?: string): Promise<void> => {
    if (closed) return;
    closed = true;
    // Callers first, then what they call, then the infrastructure.
    const order: AppName[][] = [
      ['gateway', 'empty-gateway', 'seed-pipeline'],
      ['worker', 'empty-worker'],
      ['products', 'payments'],
    ];
    for (const group of order) await Promise.allSettled(group.map((name) => stopApp(name)));
    await Promise.allSettled([...infra.values()].map((service) => service.stop()));
    if (keepLogsIn !== undefined) cpSync(path.join(tempDir, 'logs'), keepLogsIn, { recursive: true });
    rmSync(tempDir, { recursive: true, force: true });
    reaper.end();
  };

  const stopApp = async (name: AppName): Promise<void> => {
    const replicas = apps.get(name);
    if (!replicas) return;
    stopping.add(name);
    await Promise.all(replicas.map((app) => app.stop()));
    for (const app of replicas) reaper.forget(app.pid);
    trees.delete(name);
    apps.delete(name);
    stopping.delete(name);
  };

  try {
    const [temporalBinary, natsBinary, stripeBinary] = await Promise.all([
      ensureBinary('temporal', log),
      ensureBinary('nats-server', log),
      ensureBinary('stripe-mock', log),
    ]);
    const [temporalPort, natsPort, postgresPort, stripePort, paymentsPort] = (await freePorts(5)) as [
      number,
      number,
      number,
      number,
      number,
    ];
    const temporalAddress = `127.0.0.1:${temporalPort}`;
    const natsUrl = `nats://127.0.0.1:${natsPort}`;
    const postgresBase = `postgres://postgres@127.0.0.1:${postgresPort}`;
    const databaseUrls: Record<SystemId, string> = {
      service: `${postgresBase}/orders`,
      seed: `${postgresBase}/orders_seed_floor`,
      empty: `${postgresBase}/orders_empty_floor`,
    };
    const logFile = (name: string): string => path.join(tempDir, 'logs', `${name}.log`);
    const track = (name: string, service: ManagedProcess): void => {
      infra.set(name, service);
      reaper.track(service.pid);
      trees.set(name, service.pid);
    };

    const devServerOptions: ServiceStartOptions['temporal'] = {
      executable: temporalBinary,
      port: temporalPort,
      dbFile: options.temporal === 'file' ? path.join(tempDir, 'temporal.db') : undefined,
      detached: false,
      logFile: logFile('temporal'),
      readyTimeoutMs: 120_000,
    };
    // Untuned: the Temporal CLI's own dynamic config and SQLite settings.
    if (options.untuned) Object.assign(devServerOptions, { dynamicConfig: {}, sqlitePragmas: {} });
    if (options.dynamicConfig && Object.keys(options.dynamicConfig).length > 0) {
      devServerOptions.dynamicConfig = {
        ...(devServerOptions.dynamicConfig ?? DEV_SERVER_DYNAMIC_CONFIG),
        ...options.dynamicConfig,
      };
    }
    const onCluster = options.temporal === 'cluster';
    // The cluster persists to the stack's PostgreSQL: it starts once that answers. Its nodes are
    // all counted as `temporal` in every reading.
    const startCluster = async (): Promise<void> => {
      const layout = await privateClusterLayout({
        postgresUrl: databaseUrls.service,
        databasePrefix: 'temporal_bench',
        historyHosts: options.historyHosts,
      });
      await postgresUp;
      const cluster = await startTemporalCluster({
        binaries: await clusterBinaries(log, false),
        dir: path.join(tempDir, 'temporal-cluster'),
        logDir: path.join(tempDir, 'logs'),
        frontendPort: temporalPort,
        settings: layout.settings,
        namespace: 'default',
        retentionDays: 1,
        detached: false,
        readyTimeoutMs: 120_000,
        onStarted: (service) => {
          reaper.track(service.pid);
          trees.add('temporal', service.pid);
        },
      });
      const frontend = cluster.processes().find((service) => service.name === 'temporal-frontend');
      infra.set('temporal', { name: 'temporal', pid: frontend?.pid ?? 0, stop: () => cluster.stop() });
    };
    let postgresStarted: () => void = () => undefined;
    const postgresUp = new Promise<void>((resolve) => {
      postgresStarted = resolve;
    });
    const starts = await Promise.allSettled([
      onCluster
        ? startCluster()
        : (async () => {
            const service = await startService('temporal', devServerOptions);
            track('temporal', service);
            await registerSearchAttributes(temporalBinary, temporalAddress);
          })(),
      (async () => {
        const storeDir = path.join(tempDir, 'nats');
        track(
          'nats',
          await startService('nats', {
            executable: natsBinary,
            port: natsPort,
            storeDir,
            detached: false,
            logFile: logFile('nats'),
          }),
        );
      })(),
      (async () => {
        const dataDir = path.join(tempDir, 'postgres');
        track(
          'postgres',
          await startService('postgres', {
            dataDir,
            port: postgresPort,
            detached: false,
            logFile: logFile('postgres'),
          }),
        );
        postgresStarted();
      })(),
      (async () => {
        track(
          'stripe-mock',
          await startService('stripe-mock', {
            executable: stripeBinary,
            port: stripePort,
            detached: false,
            logFile: logFile('stripe-mock'),
          }),
        );
      })(),
    ]);
    // All settled first, so whatever did start is tracked and stopped by close().
    for (const outcome of starts) if (outcome.status === 'rejected') throw outcome.reason;
    log(
      `infrastructure up: Temporal ${temporalAddress} (${options.temporal}), NATS ${natsUrl}, PostgreSQL ${postgresPort}, folder ${tempDir}`,
    );

    const silent = createLogger('bench', 'silent');
    await migrate(databaseUrls.service, silent);
    const pool = await createDatabasePool(databaseUrls.service);
    try {
      await seedProducts(pool);
    } finally {
      await closeDatabasePool(pool);
    }
    if (options.floors.seed) await migrate(databaseUrls.seed, silent);
    if (options.floors.empty) await createEmptyFloorDatabase(databaseUrls.empty);

    // As `npm start` ships it: compiled processes, and a worker that loads a prebuilt workflow bundle.
    if (options.appRuntime === 'compiled') await buildApps({ name: 'build', cwd: REPO_ROOT, env: process.env });
    const workflowBundle = path.join(tempDir, 'workflow-bundle.js');
    await bundleWorkflows(workflowBundle);

    const env: NodeJS.ProcessEnv = {
      ...Object.fromEntries(
        Object.entries(process.env).filter(([key]) => !OWN_PREFIXES.some((prefix) => key.startsWith(prefix))),
      ),
      // The apps announce themselves with an info-level "ready" line; info is also how they ship.
      LOG_LEVEL: 'info',
      TEMPORAL_ADDRESS: temporalAddress,
      NATS_URL: natsUrl,
      DATABASE_URL: databaseUrls.service,
      STRIPE_API_BASE: `http://127.0.0.1:${stripePort}`,
      STRIPE_WEBHOOK_SECRET: 'whsec_bench_secret',
      PAYMENTS_HTTP_PORT: String(paymentsPort),
      PAYMENTS_PUBLIC_URL: `http://127.0.0.1:${paymentsPort}`,
      TEMPORAL_WORKFLOW_BUNDLE: workflowBundle,
      BENCH_SEED_DATABASE_URL: databaseUrls.seed,
      BENCH_EMPTY_DATABASE_URL: databaseUrls.empty,
      BENCH_EMPTY_ACTIVITIES: options.emptyActivities,
      // Replicas of one process would compete for its metrics port.
      ...METRICS_OFF,
    };
    // As npm start runs them (V8 options, jemalloc); an A/B run's NODE_OPTIONS and LD_PRELOAD win.
    const serviceEnv = appProcessEnv({ ...env, ...options.appEnv });
    const SERVICE_APPS: readonly AppName[] = ['products', 'payments', 'worker', 'gateway'];

    const startReplica = (name: AppName, replicaName: string): AppChild => {
      const nodeArgs = options.cpuProfile
        ? ['--cpu-prof', '--cpu-prof-dir', path.join(tempDir, 'logs', 'cpu-profiles', replicaName)]
        : [];
      const ofService = SERVICE_APPS.includes(name);
      const app = startAppChild({
        name: replicaName,
        script: APP_SCRIPTS[name],
        runtime: ofService ? options.appRuntime : 'tsx',
        cwd: REPO_ROOT,
        env: ofService ? serviceEnv : env,
        logFile: logFile(replicaName),
        nodeArgs,
      });
      reaper.track(app.pid);
      trees.add(name, app.pid);
      void app.exited.then((status) => {
        if (!stopping.has(name) && !closed)
          exits.push(`${replicaName} (pid ${app.pid}) exited on its own: code ${status.code}, signal ${status.signal}`);
      });
      return app;
    };
    const startApp = async (name: AppName): Promise<void> => {
      const replicas = replicaNames(name, REPLICATED.includes(name) ? options.replicas : 1).map((replicaName) =>
        startReplica(name, replicaName),
      );
      apps.set(name, replicas);
      await Promise.all(replicas.map((app) => app.ready));
    };

    const names: AppName[] = ['products', 'payments', 'worker', 'gateway'];
    if (options.floors.seed) names.push('seed-pipeline');
    if (options.floors.empty) names.push('empty-worker', 'empty-gateway');
    const started = Date.now();
    await Promise.all(names.map((name) => startApp(name)));
    const counted = names.map((name) => ({ name, count: apps.get(name)?.length ?? 0 }));
    const described = counted.map(({ name, count }) => (count > 1 ? `${name} ×${count}` : name));
    const processes = counted.reduce((sum, { count }) => sum + count, 0);
    log(`${processes} processes ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${described.join(', ')}`);

    const temporalPid = infra.get('temporal')?.pid ?? 0;
    return {
      tempDir,
      natsUrl,
      temporalAddress,
      databaseUrls,
      trees,
      temporalArgs: commandLine(temporalPid),
      temporalVersion: onCluster
        ? `temporal server ${await versionOf(await ensureBinary('temporal-server', log))}`
        : await versionOf(temporalBinary),
      async restartApp(name) {
        await stopApp(name);
        await startApp(name);
      },
      unexpectedExits: () => [...exits],
      close,
    };
  } catch (error) {
    for (const app of [...apps.values()].flat()) {
      if (app.exitStatus() !== undefined) log(`${app.name} log tail:\n${tail(app.logFile)}`);
    }
    await close();
    throw error;
  }
}

/** `worker` alone, or `worker-1` … `worker-R` (their log files are named the same). */
function replicaNames(name: AppName, count: number): string[] {
  return count === 1 ? [name] : Array.from({ length: count }, (_, index) => `${name}-${index + 1}`);
}

/** Floor 2's own database: one row per order, written by its last activity. */
async function createEmptyFloorDatabase(databaseUrl: string): Promise<void> {
  await ensureDatabase(databaseUrl);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS orders (
      id uuid PRIMARY KEY,
      status text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
  } finally {
    await client.end();
  }
}

function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

function versionOf(binary: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(binary, ['--version'], { timeout: 15_000 }, (error, stdout) => resolve(error ? 'unknown' : stdout.trim()));
  });
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}
