import { execFile } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { METRICS_OFF, parseConfig } from '../src/config';
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
import { bundleEmptyWorkflow, compileFloors, floorNodePath } from './floor-build';
import { WORKER_SETTING_VARIABLES, workerSettingsFromEnv } from './worker-settings';

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

/**
 * Which processes do the work of each system. The bench's own process (the load generator and the
 * PAID poller) is not one of them: it is measured and reported apart (system-run.ts).
 */
export const SYSTEM_PROCESSES: Record<SystemId, string[]> = {
  service: ['temporal', 'nats', 'postgres', 'stripe-mock', 'products', 'payments', 'worker', 'gateway'],
  seed: ['nats', 'postgres', 'stripe-mock', 'products', 'payments', 'seed-pipeline'],
  empty: ['temporal', 'nats', 'postgres', 'empty-worker', 'empty-gateway'],
};

/** The floors' processes: they run as the service's do (compiled or through tsx). */
const FLOOR_APPS: readonly AppName[] = ['seed-pipeline', 'empty-worker', 'empty-gateway'];

/** How a system's processes run, for the report: like is compared with like. */
export interface SystemRuntime {
  /** Compiled JavaScript or TypeScript through tsx. */
  runtime: AppRuntime;
  /** Where the compiled code comes from. */
  build: string;
  /** The worker's workflow cache (`maxCachedWorkflows`); null for a system without a Temporal worker. */
  maxCachedWorkflows: number | null;
  /** Whether the worker's workflow threads collect promise stack traces. */
  workflowStackTraces: boolean | null;
  /** A workflow bundle built before the worker starts, or bundled by the worker at start. */
  workflowBundle: 'prebuilt' | 'bundled at start' | null;
  /** NODE_OPTIONS and the C allocator of the system's own processes. */
  nodeOptions: string;
  allocator: string;
}

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
  /**
   * How the service's own processes run: compiled, as `npm start` runs them, or through tsx. The
   * floors' processes run the same way (compiled into the temporary folder: floor-build.ts).
   */
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
  /** How each system's processes run (runtime, workflow cache, stack traces, bundle). */
  runtimes: Partial<Record<SystemId, SystemRuntime>>;
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
    // The floors alike: compiled when the service is, and the empty floor's workflow prebuilt.
    const compiled = options.appRuntime === 'compiled';
    const floorScripts = FLOOR_APPS.filter((name) =>
      name === 'seed-pipeline' ? options.floors.seed : options.floors.empty,
    ).map((name) => APP_SCRIPTS[name]);
    const workflowBundle = path.join(tempDir, 'workflow-bundle.js');
    const emptyWorkflowBundle = path.join(tempDir, 'empty-workflow-bundle.js');
    const [, , compiledFloors] = await Promise.all([
      compiled ? buildApps({ name: 'build', cwd: REPO_ROOT, env: process.env }) : undefined,
      bundleWorkflows(workflowBundle),
      compiled && floorScripts.length > 0
        ? compileFloors(REPO_ROOT, path.join(tempDir, 'floors-dist'), floorScripts)
        : ({} as Record<string, string>),
      options.floors.empty ? bundleEmptyWorkflow(emptyWorkflowBundle) : undefined,
    ]);

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
    // The floors run with the same V8 options and allocator, and the empty floor's worker with the
    // service worker's cache size and stack-trace switch (an A/B run's `--env` of them included).
    const floorEnv = appProcessEnv({
      ...env,
      ...Object.fromEntries(
        WORKER_SETTING_VARIABLES.flatMap((name) => (serviceEnv[name] === undefined ? [] : [[name, serviceEnv[name]]])),
      ),
      ...(options.floors.empty ? { BENCH_EMPTY_WORKFLOW_BUNDLE: emptyWorkflowBundle } : {}),
      ...(compiled ? { NODE_PATH: floorNodePath(REPO_ROOT) } : {}),
    });

    const startReplica = (name: AppName, replicaName: string): AppChild => {
      const nodeArgs = options.cpuProfile
        ? ['--cpu-prof', '--cpu-prof-dir', path.join(tempDir, 'logs', 'cpu-profiles', replicaName)]
        : [];
      const ofService = SERVICE_APPS.includes(name);
      const app = startAppChild({
        name: replicaName,
        script: APP_SCRIPTS[name],
        runtime: options.appRuntime,
        compiledScript: ofService ? undefined : compiledFloors[APP_SCRIPTS[name]],
        cwd: REPO_ROOT,
        env: ofService ? serviceEnv : floorEnv,
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
      runtimes: systemRuntimes(options, serviceEnv, floorEnv),
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

function systemRuntimes(
  options: StackOptions,
  serviceEnv: NodeJS.ProcessEnv,
  floorEnv: NodeJS.ProcessEnv,
): Partial<Record<SystemId, SystemRuntime>> {
  const compiled = options.appRuntime === 'compiled';
  const processEnv = (env: NodeJS.ProcessEnv) => ({
    nodeOptions: env.NODE_OPTIONS?.trim() || '(none)',
    allocator: env.LD_PRELOAD ? path.basename(env.LD_PRELOAD) : "glibc's",
  });
  // The service's own reading of its environment, as its worker parses it at start (a worker that
  // cannot parse it does not start: the stack fails before this is reported).
  let config: { maxCachedWorkflows: number | null; workflowStackTraces: boolean | null; workflowBundle?: string };
  try {
    config = parseConfig(serviceEnv, 'worker').temporal;
  } catch {
    config = {
      maxCachedWorkflows: null,
      workflowStackTraces: null,
      workflowBundle: serviceEnv.TEMPORAL_WORKFLOW_BUNDLE,
    };
  }
  const floorWorker = workerSettingsFromEnv(floorEnv);
  const runtimes: Partial<Record<SystemId, SystemRuntime>> = {
    service: {
      runtime: options.appRuntime,
      build: compiled ? 'npm run build, dist/' : 'tsx',
      maxCachedWorkflows: config.maxCachedWorkflows,
      workflowStackTraces: config.workflowStackTraces,
      workflowBundle: config.workflowBundle !== undefined ? 'prebuilt' : 'bundled at start',
      ...processEnv(serviceEnv),
    },
  };
  const floorBuild = compiled ? 'esbuild into the temporary folder' : 'tsx';
  if (options.floors.seed)
    runtimes.seed = {
      runtime: options.appRuntime,
      build: floorBuild,
      maxCachedWorkflows: null,
      workflowStackTraces: null,
      workflowBundle: null,
      ...processEnv(floorEnv),
    };
  if (options.floors.empty)
    runtimes.empty = {
      runtime: options.appRuntime,
      build: floorBuild,
      maxCachedWorkflows: floorWorker.maxCachedWorkflows,
      workflowStackTraces: floorWorker.workflowStackTraces,
      workflowBundle: floorEnv.BENCH_EMPTY_WORKFLOW_BUNDLE ? 'prebuilt' : 'bundled at start',
      ...processEnv(floorEnv),
    };
  return runtimes;
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
