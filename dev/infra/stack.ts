import { appEnvironment } from './app-environment';
import type { AppRuntime } from './app-process';
import { ensureBinary } from './binaries';
import { startConfigured } from './configured-services';
import type { ManagedProcess } from './managed-process';
import { prepareData } from './prepare-data';
import { PrivateServices } from './private-services';
import { StackApps } from './stack-apps';
import { StackContext } from './stack-context';
import type { DynamicConfig } from './temporal-dev-server';
import type { TemporalCluster } from './temporal-cluster/cluster';

/**
 * The one launcher of the whole stack: Temporal, NATS (JetStream), PostgreSQL and stripe-mock, the
 * migrations and the payment stream, then the app processes. `npm start`, the jest global setup,
 * the fault suite and the bench differ only in the options they pass.
 */

export type InfraName = 'temporal' | 'nats' | 'postgres' | 'stripe-mock';
export const INFRA_NAMES: readonly InfraName[] = ['temporal', 'nats', 'postgres', 'stripe-mock'];

/** The service's four processes, in start order (callers are stopped first, so in reverse). */
export const SERVICE_APP_SCRIPTS = {
  products: 'src/products/main.ts',
  payments: 'src/payments/main.ts',
  worker: 'src/worker.ts',
  gateway: 'src/gateway/main.ts',
} as const;
export type ServiceAppName = keyof typeof SERVICE_APP_SCRIPTS;
export const SERVICE_APPS = Object.entries(SERVICE_APP_SCRIPTS).map(([name, script]) => ({ name, script }));

/** One app of the stack: a TypeScript entry point run as one process, or several replicas. */
export interface AppSpec {
  name: string;
  /** Relative to the repository's root. */
  script: string;
  /** Processes it runs as, `<name>-1` … `<name>-<n>` when more than one; started, stopped and counted together. */
  replicas?: number;
  /** Its environment, when not the stack's `env`. */
  env?: NodeJS.ProcessEnv;
  /** The compiled script to run instead of `npm run build`'s, when the runtime is compiled. */
  compiledScript?: string;
  /** Node options for one of its processes (by process name), before the script. */
  nodeArgs?: (processName: string) => string[];
}

export interface StackOptions {
  /**
   * `configured`: at the configuration's addresses (`env`); what answers is reused, the rest is
   * started in `dir` detached, with a pid file, so it outlives this process (`npm start`).
   * `private`: each on a free port under `dir`, owned by the stack and stopped with it.
   */
  services: 'configured' | 'private';
  /** The dev server in memory or with its SQLite file in `dir`, or a cluster persisting to PostgreSQL. */
  temporal: 'memory' | 'file' | 'cluster';
  /** With private services: a private PostgreSQL (default), or a fresh database on the configured one, dropped at stop. */
  postgres?: 'private' | 'configured';
  /** Where state, logs and pid files go: required for `configured`; a new temporary folder by default. */
  dir?: string;
  /** Prefix of that temporary folder's name. */
  dirPrefix?: string;
  /** The configuration read (`configured`), and the base of the apps' environment; process.env by default. */
  env?: Record<string, string | undefined>;
  log: (line: string) => void;
  /** Web UI of a dev server started with configured services: the CLI's convention (gRPC port + 1000) by default. */
  temporalUiPort?: number;
  /** Dynamic config on top of the dev server's tuned values; `untuned` runs the CLI's own values and SQLite settings. */
  dynamicConfig?: DynamicConfig;
  untuned?: boolean;
  /** How long Temporal may take to get ready. */
  temporalReadyTimeoutMs?: number;
  /** History hosts of a private cluster (2 by default). */
  historyHosts?: number;
  /** Prefix of the private cluster's databases, and of a fresh database on the configured PostgreSQL. */
  databasePrefix?: string;
  /** Environment of the apps on top of the endpoints (private services replace the caller's own). */
  appEnv?: Record<string, string>;
  /** The apps, or a step run once the services are up that prepares and names them (build, seed, bundle). */
  apps?: AppSpec[] | ((stack: Stack) => Promise<AppSpec[]> | AppSpec[]);
  appRuntime?: AppRuntime;
  /** App output prefixed on this process's stdout and stderr (`terminal`), or one log file each under `<dir>/logs`. */
  appOutput?: 'terminal' | 'files';
  appReadyTimeoutMs?: number;
  /** A detached watchdog that kills what the stack started, and removes its folder, if this process dies. */
  reaper?: boolean;
  /** Told about every process started (replicas and cluster nodes under their app's or service's name) and every name stopped. */
  onStarted?: (name: string, pid: number) => void;
  onStopped?: (name: string) => void;
  /** An app exited without being told to. */
  onUnexpectedExit?: (message: string) => void;
  /** Aborts a start under way (Ctrl-C): what had started is stopped again and the start rejects. */
  signal?: AbortSignal;
}

export interface Stack {
  dir: string;
  temporalAddress: string;
  temporalUiUrl?: string;
  natsUrl: string;
  databaseUrl: string;
  stripeApiBase: string;
  /** Where the payments service listens, with private services. */
  paymentsUrl?: string;
  temporalBinary: string;
  /** The environment the apps run with (also right for `src/scripts/audit.ts`). */
  env: NodeJS.ProcessEnv;
  /** The services this stack started (not those it reused), in start order. */
  started(): ManagedProcess[];
  infraPid(name: InfraName): number | undefined;
  stopInfra(name: InfraName): Promise<void>;
  /** Starts a stopped service again on the same port and data (private services). */
  startInfra(name: InfraName): Promise<void>;
  temporalCluster(): TemporalCluster | undefined;
  startApp(name: string): Promise<void>;
  /** SIGTERM, as an orchestrator stops a process. */
  stopApp(name: string): Promise<void>;
  /** `kill -9` of the app's whole process group. */
  killApp(name: string): Promise<void>;
  restartApp(name: string): Promise<void>;
  isAppRunning(name: string): boolean;
  /** Apps that exited without being told to, since the start or the last `heal`. */
  unexpectedExits(): string[];
  /** Starts whatever is not running (services, cluster nodes, apps); returns what it started. */
  heal(): Promise<string[]>;
  /** Apps first (callers first), then what this stack started, newest first; copies the logs to `keepLogsIn` if given. */
  stop(keepLogsIn?: string): Promise<void>;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const ctx = new StackContext(options);
  const services = ctx.configured ? undefined : new PrivateServices(ctx);
  const apps = new StackApps(ctx);

  const stop = async (keepLogsIn?: string): Promise<void> => {
    if (ctx.stopping) return;
    ctx.stopping = true;
    // Callers first: apps in reverse start order, then the services, newest first.
    await apps.stopAll();
    await ctx.stopAllInfra();
    await services?.dropDatabases();
    ctx.close(keepLogsIn);
  };

  try {
    const temporalBinary = await ensureBinary('temporal', options.log);
    ctx.checkAborted();
    const infra = services ? await services.start(temporalBinary) : await startConfigured(ctx, temporalBinary);
    ctx.checkAborted();
    const env = appEnvironment(ctx, infra);

    const stack: Stack = {
      dir: ctx.dir,
      ...infra,
      temporalBinary,
      env,
      started: () => ctx.started(),
      infraPid: (name) => ctx.pidOf(name),
      stopInfra: (name) => ctx.stopInfra(name),
      async startInfra(name) {
        if (!services?.canStartAgain(name)) {
          throw new Error(`${name} was not started by this stack, so it cannot be started again here`);
        }
        if (ctx.owns(name)) throw new Error(`${name} is already running`);
        await services.startAgain(name);
      },
      temporalCluster: () => services?.temporalCluster(),
      startApp: (name) => apps.start(name),
      stopApp: (name) => apps.stop(name),
      killApp: (name) => apps.kill(name),
      restartApp: (name) => apps.restart(name),
      isAppRunning: (name) => apps.isRunning(name),
      unexpectedExits: () => apps.unexpectedExits(),
      async heal() {
        // The cluster keeps its state in PostgreSQL: it starts after it.
        const order: InfraName[] =
          options.temporal === 'cluster' ? ['postgres', 'temporal', 'nats', 'stripe-mock'] : [...INFRA_NAMES];
        const restarted = (await services?.heal(order)) ?? [];
        return [...restarted, ...(await apps.heal())];
      },
      stop,
    };

    await prepareData(ctx, stack);
    ctx.checkAborted();
    const wanted = typeof options.apps === 'function' ? await options.apps(stack) : (options.apps ?? []);
    ctx.checkAborted();
    await apps.startAll(wanted, env);
    return stack;
  } catch (error) {
    apps.logTailsOfExited();
    await stop();
    throw error;
  }
}
