import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { parseConfig } from '../src/config';
import { createDatabasePool, closeDatabasePool } from '../src/db/pool';
import { ensureDatabase, migrate } from '../src/db/migrate';
import { ensureBinary } from '../dev/infra/binaries';
import { withDatabase } from '../dev/infra/databases';
import { appProcessEnv, buildApps, type AppRuntime } from '../dev/infra/app-process';
import { startStack as startInfraStack, type AppSpec, type Stack as InfraStack } from '../dev/infra/stack';
import type { DynamicConfig } from '../dev/infra/temporal-dev-server';
import { HEAP_GROWING_PERCENT } from '../src/heap-growth';
import { createLogger } from '../src/logger';
import { seedProducts } from '../src/products/seed';
import { bundleWorkflows } from '../src/scripts/bundle-workflows';
import type { SystemId } from './flags';
import { ProcessTrees } from './proc-stats';
import { bundleEmptyWorkflow, compileFloors, floorNodePath } from './floor-build';
import { WORKER_SETTING_VARIABLES, workerSettingsFromEnv } from './worker-settings';

/**
 * The whole system on infrastructure of its own, under one temporary folder: a Temporal dev server,
 * NATS with JetStream, a private PostgreSQL cluster (so its CPU can be told apart), stripe-mock, the
 * service's four processes and the floors' processes: the stack launcher (dev/infra/stack.ts) with
 * private services, each process's output in a log file, and every process measured by name.
 */

export type AppName =
  'products' | 'payments' | 'worker' | 'gateway' | 'seed-pipeline' | 'empty-worker' | 'empty-gateway';

const APP_SCRIPTS: Record<AppName, string> = {
  products: 'src/products/main.ts',
  payments: 'src/payments/main.ts',
  worker: 'src/worker.ts',
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
  'empty-sa': ['temporal', 'nats', 'postgres', 'empty-worker', 'empty-gateway'],
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
  /** How far an old generation grows past its last full collection, in percent (runMain and runFloor set it). */
  heapGrowingPercent: number;
}

export const REPO_ROOT = path.resolve(__dirname, '..');

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
  /** Floors whose processes and databases are needed (`empty` also for `empty-sa`, which shares them). */
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
  /** The environment of the service's own processes (`--env` included). */
  serviceEnv: NodeJS.ProcessEnv;
  /** Stops and starts one app, every replica of it (the worker before the memory run, so its memory starts from zero). */
  restartApp(name: AppName): Promise<void>;
  /** Apps that exited without being told to. */
  unexpectedExits(): string[];
  /** Stops everything and removes the temporary folder, first copying its logs to `keepLogsIn` if given. */
  close(keepLogsIn?: string): Promise<void>;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const trees = new ProcessTrees();
  trees.set('bench', process.pid);
  let databaseUrls: Record<SystemId, string> | undefined;
  let serviceEnv: NodeJS.ProcessEnv = {};
  let floorEnv: NodeJS.ProcessEnv = {};
  const stack = await startInfraStack({
    services: 'private',
    temporal: options.temporal,
    historyHosts: options.historyHosts,
    untuned: options.untuned,
    dynamicConfig: options.dynamicConfig,
    temporalReadyTimeoutMs: 120_000,
    dirPrefix: 'orders-bench-',
    databasePrefix: 'bench',
    reaper: true,
    log: options.log,
    // Every process is measured under its name: replicas and a cluster's nodes summed.
    onStarted: (name, pid) => trees.add(name, pid),
    onStopped: (name) => trees.delete(name),
    appRuntime: options.appRuntime,
    appOutput: 'files',
    appReadyTimeoutMs: 120_000,
    apps: async (up) => {
      const prepared = await prepareApps(up, options);
      ({ databaseUrls, serviceEnv, floorEnv } = prepared);
      return prepared.apps;
    },
  });
  const onCluster = options.temporal === 'cluster';
  return {
    tempDir: stack.dir,
    natsUrl: stack.natsUrl,
    temporalAddress: stack.temporalAddress,
    databaseUrls: databaseUrls ?? { service: stack.databaseUrl, seed: '', empty: '', 'empty-sa': '' },
    trees,
    temporalArgs: commandLine(stack.infraPid('temporal') ?? 0),
    runtimes: systemRuntimes(options, serviceEnv, floorEnv),
    serviceEnv,
    temporalVersion: onCluster
      ? `temporal server ${await versionOf(await ensureBinary('temporal-server', options.log))}`
      : await versionOf(stack.temporalBinary),
    restartApp: (name) => stack.restartApp(name),
    unexpectedExits: () => stack.unexpectedExits(),
    close: (keepLogsIn) => stack.stop(keepLogsIn),
  };
}

/**
 * Once the infrastructure is up: the catalogue, the floors' databases, the build and the workflow
 * bundles, then the processes to run and each one's environment.
 */
async function prepareApps(
  up: InfraStack,
  options: StackOptions,
): Promise<{
  apps: AppSpec[];
  databaseUrls: Record<SystemId, string>;
  serviceEnv: NodeJS.ProcessEnv;
  floorEnv: NodeJS.ProcessEnv;
}> {
  const databaseUrls: Record<SystemId, string> = {
    service: up.databaseUrl,
    seed: withDatabase(up.databaseUrl, 'orders_seed_floor'),
    empty: withDatabase(up.databaseUrl, 'orders_empty_floor'),
    'empty-sa': withDatabase(up.databaseUrl, 'orders_empty_floor'),
  };
  const pool = await createDatabasePool(databaseUrls.service);
  try {
    await seedProducts(pool);
  } finally {
    await closeDatabasePool(pool);
  }
  if (options.floors.seed) await migrate(databaseUrls.seed, createLogger('bench', 'silent'));
  if (options.floors.empty) await createEmptyFloorDatabase(databaseUrls.empty);

  // As `npm start` ships it: compiled processes, and a worker that loads a prebuilt workflow bundle.
  // The floors alike: compiled when the service is, and the empty floor's workflow prebuilt.
  const compiled = options.appRuntime === 'compiled';
  const floorScripts = FLOOR_APPS.filter((name) =>
    name === 'seed-pipeline' ? options.floors.seed : options.floors.empty,
  ).map((name) => APP_SCRIPTS[name]);
  const workflowBundle = path.join(up.dir, 'workflow-bundle.js');
  const emptyWorkflowBundle = path.join(up.dir, 'empty-workflow-bundle.js');
  const [, , compiledFloors] = await Promise.all([
    compiled ? buildApps({ name: 'build', cwd: REPO_ROOT, env: process.env }) : undefined,
    bundleWorkflows(workflowBundle),
    compiled && floorScripts.length > 0
      ? compileFloors(REPO_ROOT, path.join(up.dir, 'floors-dist'), floorScripts)
      : ({} as Record<string, string>),
    options.floors.empty ? bundleEmptyWorkflow(emptyWorkflowBundle) : undefined,
  ]);

  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(up.env).filter(([key]) => !key.startsWith('BENCH_'))),
    STRIPE_WEBHOOK_SECRET: 'whsec_bench_secret',
    TEMPORAL_WORKFLOW_BUNDLE: workflowBundle,
    BENCH_SEED_DATABASE_URL: databaseUrls.seed,
    BENCH_EMPTY_DATABASE_URL: databaseUrls.empty,
    BENCH_EMPTY_ACTIVITIES: options.emptyActivities,
  };
  // As npm start runs them (V8 options, jemalloc); an A/B run's NODE_OPTIONS and LD_PRELOAD win.
  const serviceEnv = appProcessEnv({ ...env, ...options.appEnv });
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

  // Stopped in reverse: callers first, then what they call.
  const names: AppName[] = ['products', 'payments', 'worker'];
  if (options.floors.empty) names.push('empty-worker');
  names.push('gateway');
  if (options.floors.seed) names.push('seed-pipeline');
  if (options.floors.empty) names.push('empty-gateway');
  const apps = names.map((name): AppSpec => {
    const ofService = !FLOOR_APPS.includes(name);
    return {
      name,
      script: APP_SCRIPTS[name],
      replicas: REPLICATED.includes(name) ? options.replicas : 1,
      env: ofService ? serviceEnv : floorEnv,
      compiledScript: ofService ? undefined : compiledFloors[APP_SCRIPTS[name]],
      nodeArgs: (processName) =>
        options.cpuProfile
          ? ['--cpu-prof', '--cpu-prof-dir', path.join(up.dir, 'logs', 'cpu-profiles', processName)]
          : [],
    };
  });
  return { apps, databaseUrls, serviceEnv, floorEnv };
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
    heapGrowingPercent: HEAP_GROWING_PERCENT,
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
  if (options.floors.empty) {
    runtimes.empty = {
      runtime: options.appRuntime,
      build: floorBuild,
      maxCachedWorkflows: floorWorker.maxCachedWorkflows,
      workflowStackTraces: floorWorker.workflowStackTraces,
      workflowBundle: floorEnv.BENCH_EMPTY_WORKFLOW_BUNDLE ? 'prebuilt' : 'bundled at start',
      ...processEnv(floorEnv),
    };
    runtimes['empty-sa'] = runtimes.empty;
  }
  return runtimes;
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
