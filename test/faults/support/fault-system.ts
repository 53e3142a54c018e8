import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { NatsConnection } from 'nats';
import pg from 'pg';
import { METRICS_OFF, parseConfig } from '../../../src/config';
import { migrate } from '../../../src/db/migrate';
import { startAppProcess, type AppProcess } from '../../../dev/infra/app-process';
import { ensureBinary } from '../../../dev/infra/binaries';
import { describeExit, type ExitStatus, type ManagedProcess } from '../../../dev/infra/managed-process';
import { freePorts } from '../../../dev/infra/ports';
import { startService } from '../../../dev/infra/start-service';
import { registerSearchAttributes } from '../../../dev/infra/temporal-cli';
import { startReaper } from '../../../dev/infra/reaper';
import { startTemporalCluster, type TemporalCluster } from '../../../dev/infra/temporal-cluster/cluster';
import { clusterBinaries, privateClusterLayout } from '../../../dev/infra/temporal-cluster/private-cluster';
import { createLogger } from '../../../src/logger';
import { connectNats } from '../../../src/nats/connection';
import { webhookUrl } from '../../../src/payments/test-events';
import { connectTemporalClient } from '../../../src/temporal/connection';
import { connectNestClient, type NestClient } from '../../support/nest-client';
import { REPO_ROOT } from '../../support/run-command';

/**
 * The whole system as separate processes, on infrastructure of its own (NATS, PostgreSQL, a
 * Temporal dev server with a database file, stripe-mock) under one temporary folder, so a test
 * may kill and restart any part of it. Nothing here is shared with `npm test`. With
 * `{ temporal: 'cluster' }`, Temporal is a cluster (frontend, matching, worker and two history
 * hosts as separate processes) persisting to the system's own PostgreSQL.
 */

export type InfraName = 'temporal' | 'nats' | 'postgres' | 'stripe-mock';
export type AppName = 'products' | 'payments' | 'worker' | 'gateway';

const APP_SCRIPTS: Record<AppName, string> = {
  products: 'src/products/main.ts',
  payments: 'src/payments/main.ts',
  worker: 'src/worker/main.ts',
  gateway: 'src/gateway/main.ts',
};
export const APP_NAMES = Object.keys(APP_SCRIPTS) as AppName[];
const INFRA_NAMES: InfraName[] = ['temporal', 'nats', 'postgres', 'stripe-mock'];

const WEBHOOK_SECRET = 'whsec_fault_suite_secret';
// Our variables replace whatever the caller's shell points at (a developer's local services).
const OWN_PREFIXES = ['TEMPORAL_', 'NATS_', 'DATABASE_', 'STRIPE_', 'PAYMENTS_', 'PRODUCTS_', 'ORDER_'];

/** What a caller got instead of an answer: the peer's `{status, message}`, or no answer in time. */
export interface CallerError {
  status: number | 'no answer';
  message: unknown;
}

export interface FaultSystem {
  tempDir: string;
  /** The environment every app process runs with (also right for `src/scripts/audit.ts`). */
  env: NodeJS.ProcessEnv;
  paymentsWebhookUrl: string;
  webhookSecret: string;
  nest: NestClient;
  nats: NatsConnection;
  temporal: Client;
  /** A NestJS request with a deadline, so a request lost in an outage cannot hang a test. */
  request<T>(subject: string, data: unknown, timeoutMs?: number): Promise<T>;
  /** One query on a fresh connection: pooled connections would not survive a PostgreSQL restart. */
  query<R extends pg.QueryResultRow>(text: string, params?: unknown[]): Promise<R[]>;
  stopInfra(name: InfraName): Promise<void>;
  startInfra(name: InfraName): Promise<void>;
  startApp(name: AppName): Promise<void>;
  /** SIGTERM, as an orchestrator stops a process. */
  stopApp(name: AppName): Promise<void>;
  /** `kill -9` of the app's whole process group (tsx runs the script in a child process). */
  killApp(name: AppName): Promise<void>;
  isAppRunning(name: AppName): boolean;
  /** Apps that exited without being told to, since the start or the last `heal`. */
  unexpectedExits(): string[];
  /** The Temporal cluster, when the system runs one (its nodes can be killed one by one). */
  temporalCluster(): TemporalCluster | undefined;
  /** Starts whatever is not running, so one failed scenario does not fail the next ones. */
  heal(): Promise<string[]>;
  /** Stops everything and removes the temporary folder; safe to call after a failed start. */
  close(): Promise<void>;
}

interface RunningApp {
  process: AppProcess;
  expectedExit: boolean;
  status?: ExitStatus;
}

export interface FaultSystemOptions {
  temporal?: 'dev' | 'cluster';
}

export async function startFaultSystem(options: FaultSystemOptions = {}): Promise<FaultSystem> {
  const onCluster = options.temporal === 'cluster';
  // The cluster keeps its state in PostgreSQL: it starts (and is healed) after it.
  const infraOrder: InfraName[] = onCluster ? ['postgres', 'temporal', 'nats', 'stripe-mock'] : INFRA_NAMES;
  const log = (line: string): void => {
    process.stderr.write(`[faults] ${line}\n`);
  };
  const tempDir = mkdtempSync(path.join(os.tmpdir(), 'orders-faults-'));
  // PostgreSQL runs as the postgres user and must reach its data folder in here.
  chmodSync(tempDir, 0o755);

  const infra = new Map<InfraName, ManagedProcess>();
  const apps = new Map<AppName, RunningApp>();
  const exits: string[] = [];
  let cluster: TemporalCluster | undefined;
  const clients: Array<() => Promise<void>> = [];

  // If jest itself dies (Ctrl-C, a CI timeout), afterAll never runs: the reaper cleans up then.
  const reaper = startReaper(tempDir);

  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await Promise.allSettled(clients.map((closeClient) => closeClient()));
    await Promise.allSettled([...apps.keys()].map((name) => stopApp(name)));
    await Promise.allSettled([...infra.keys()].map((name) => stopInfra(name)));
    rmSync(tempDir, { recursive: true, force: true });
    reaper.end();
  };

  const stopInfra = async (name: InfraName): Promise<void> => {
    const service = infra.get(name);
    if (!service) return;
    await service.stop();
    reaper.forget(service.pid);
    infra.delete(name);
  };

  const stopApp = async (name: AppName): Promise<void> => {
    const app = apps.get(name);
    if (!app) return;
    app.expectedExit = true;
    await app.process.stop();
    // The tsx parent relays SIGTERM; make sure its child went with it.
    killGroup(app.process.pid, 'SIGKILL');
    apps.delete(name);
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
    const databaseUrl = `postgres://postgres@127.0.0.1:${postgresPort}/orders`;
    const paymentsUrl = `http://127.0.0.1:${paymentsPort}`;
    const logFile = (name: string): string => path.join(tempDir, 'logs', `${name}.log`);
    const layout = onCluster
      ? await privateClusterLayout({ postgresUrl: databaseUrl, databasePrefix: 'temporal_faults' })
      : undefined;
    const binaries = onCluster ? await clusterBinaries(log, false) : undefined;

    // Restarts reuse the same ports and data, as an operator restarting a server would.
    const startCluster = async (): Promise<ManagedProcess> => {
      if (!layout || !binaries) throw new Error('no cluster layout');
      cluster = await startTemporalCluster({
        binaries,
        dir: path.join(tempDir, 'temporal-cluster'),
        logDir: path.join(tempDir, 'logs'),
        frontendPort: temporalPort,
        settings: layout.settings,
        namespace: 'default',
        retentionDays: 1,
        detached: false,
        onStarted: (service) => reaper.track(service.pid),
        onStopped: (service) => reaper.forget(service.pid),
      });
      const running = cluster;
      return { name: 'temporal', pid: running.processes()[0]?.pid ?? 0, stop: () => running.stop() };
    };
    const starters: Record<InfraName, () => Promise<ManagedProcess>> = {
      temporal: onCluster
        ? startCluster
        : async () => {
            const service = await startService('temporal', {
              executable: temporalBinary,
              port: temporalPort,
              dbFile: path.join(tempDir, 'temporal.db'),
              detached: false,
              logFile: logFile('temporal'),
            });
            await registerSearchAttributes(temporalBinary, temporalAddress).catch(async (error: unknown) => {
              await service.stop();
              throw error;
            });
            return service;
          },
      nats: () =>
        startService('nats', {
          executable: natsBinary,
          port: natsPort,
          storeDir: path.join(tempDir, 'nats'),
          detached: false,
          logFile: logFile('nats'),
        }),
      postgres: () =>
        startService('postgres', {
          dataDir: path.join(tempDir, 'postgres'),
          port: postgresPort,
          detached: false,
          logFile: logFile('postgres'),
        }),
      'stripe-mock': () =>
        startService('stripe-mock', {
          executable: stripeBinary,
          port: stripePort,
          detached: false,
          logFile: logFile('stripe-mock'),
        }),
    };
    const startInfra = async (name: InfraName): Promise<void> => {
      if (infra.has(name)) throw new Error(`${name} is already running`);
      const service = await starters[name]();
      reaper.track(service.pid);
      infra.set(name, service);
    };

    const env: NodeJS.ProcessEnv = {
      ...Object.fromEntries(
        Object.entries(process.env).filter(([key]) => !OWN_PREFIXES.some((p) => key.startsWith(p))),
      ),
      // Apps announce themselves with an info-level "ready" line.
      LOG_LEVEL: 'info',
      TEMPORAL_ADDRESS: temporalAddress,
      NATS_URL: natsUrl,
      NATS_REQUEST_TIMEOUT_MS: '3000',
      DATABASE_URL: databaseUrl,
      STRIPE_API_BASE: `http://127.0.0.1:${stripePort}`,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      PAYMENTS_HTTP_PORT: String(paymentsPort),
      PAYMENTS_PUBLIC_URL: paymentsUrl,
      // Short, so a create that waits on a dead part answers 503 soon and the caller retries.
      ORDER_CREATE_TIMEOUT_MS: '5000',
      // Fixed default ports could meet another run's processes.
      ...METRICS_OFF,
    };

    const startApp = async (name: AppName): Promise<void> => {
      if (apps.get(name)) throw new Error(`${name} is already running`);
      const started = startAppProcess({
        name,
        script: APP_SCRIPTS[name],
        runtime: 'tsx',
        cwd: REPO_ROOT,
        env,
        prefixWidth: 8,
        readyTimeoutMs: 90_000,
      });
      const app: RunningApp = { process: started, expectedExit: false };
      apps.set(name, app);
      reaper.track(started.pid);
      void started.exited.then((status) => {
        app.status = status;
        reaper.forget(started.pid);
        if (!app.expectedExit) exits.push(`${name} (pid ${started.pid}) exited on its own: ${describeExit(status)}`);
      });
      await started.ready;
    };

    const killApp = async (name: AppName): Promise<void> => {
      const app = apps.get(name);
      if (!app) throw new Error(`${name} is not running`);
      app.expectedExit = true;
      killGroup(app.process.pid, 'SIGKILL');
      await app.process.exited;
      apps.delete(name);
    };

    if (onCluster) await startInfra('postgres');
    const outcomes = await Promise.allSettled(
      INFRA_NAMES.filter((name) => !infra.has(name)).map((name) => startInfra(name)),
    );
    for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
    await migrate(databaseUrl, createLogger('faults', 'silent'));
    await Promise.all(APP_NAMES.map((name) => startApp(name)));

    const nest = await connectNestClient(natsUrl);
    clients.push(() => nest.close());
    // The apps' own configuration, so the suite connects exactly as they do.
    const config = parseConfig(env);
    const nats = await connectNats(config.nats, 'orders-fault-suite');
    clients.push(() => nats.close());
    const temporal = await connectTemporalClient(config.temporal);
    clients.push(() => temporal.connection.close());
    log(
      `Temporal ${temporalAddress}, NATS ${natsUrl}, PostgreSQL ${postgresPort}, payments ${paymentsUrl}, folder ${tempDir}`,
    );

    return {
      tempDir,
      env,
      paymentsWebhookUrl: webhookUrl(paymentsUrl),
      webhookSecret: WEBHOOK_SECRET,
      nest,
      nats,
      temporal,
      request: (subject, data, timeoutMs = 20_000) => withDeadline(nest.send(subject, data), timeoutMs, subject),
      async query<R extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<R[]> {
        const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 3_000 });
        client.on('error', () => undefined);
        await client.connect();
        try {
          return (await client.query<R>(text, params)).rows;
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      stopInfra,
      startInfra,
      startApp,
      stopApp,
      killApp,
      isAppRunning: (name) => apps.has(name) && apps.get(name)?.status === undefined,
      unexpectedExits: () => [...exits],
      temporalCluster: () => (infra.has('temporal') ? cluster : undefined),
      async heal() {
        const restarted: string[] = [];
        for (const name of infraOrder) {
          if (!infra.has(name)) {
            await startInfra(name);
            restarted.push(name);
          }
        }
        for (const node of cluster && infra.has('temporal') ? cluster.nodes : []) {
          if (cluster?.isRunning(node.name)) continue;
          await cluster?.stopNode(node.name);
          await cluster?.startNode(node.name);
          restarted.push(`temporal ${node.name}`);
        }
        for (const name of APP_NAMES) {
          const app = apps.get(name);
          if (app && app.status === undefined) continue;
          apps.delete(name);
          await startApp(name);
          restarted.push(name);
        }
        exits.length = 0;
        return restarted;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Signals a whole process group; one that is already gone is fine. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

function withDeadline<T>(call: Promise<T>, timeoutMs: number, subject: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const error: CallerError = { status: 'no answer', message: `no answer on ${subject} within ${timeoutMs} ms` };
      reject(error);
    }, timeoutMs);
  });
  return Promise.race([call, deadline]).finally(() => clearTimeout(timer));
}
