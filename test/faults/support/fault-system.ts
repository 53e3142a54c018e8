import type { Client } from '@temporalio/client';
import type { NatsConnection } from '@nats-io/nats-core';
import pg from 'pg';
import { parseConfig } from '../../../src/config';
import { SERVICE_APPS, startStack, type InfraName, type ServiceAppName } from '../../../dev/infra/stack';
import type { TemporalCluster } from '../../../dev/infra/temporal-cluster/cluster';
import { connectNats } from '../../../src/nats/connection';
import { webhookUrl } from '../../../src/payments/test-events';
import { connectTemporalClient } from '../../../src/temporal/connection';
import { connectNestClient, type NestClient } from '../../support/nest-client';

/**
 * The whole system as separate processes, on infrastructure of its own (NATS, PostgreSQL, a
 * Temporal dev server with a database file, stripe-mock) under one temporary folder, so a test
 * may kill and restart any part of it: the stack launcher (dev/infra/stack.ts) with private
 * services and the four apps run through tsx. Nothing here is shared with `npm test`. With
 * `{ temporal: 'cluster' }`, Temporal is a cluster (frontend, matching, worker and two history
 * hosts as separate processes) persisting to the system's own PostgreSQL.
 */

export type { InfraName };
export type AppName = ServiceAppName;
export const APP_NAMES = SERVICE_APPS.map((app) => app.name as AppName);

const WEBHOOK_SECRET = 'whsec_fault_suite_secret';

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

export interface FaultSystemOptions {
  temporal?: 'dev' | 'cluster';
}

export async function startFaultSystem(options: FaultSystemOptions = {}): Promise<FaultSystem> {
  const stack = await startStack({
    services: 'private',
    temporal: options.temporal === 'cluster' ? 'cluster' : 'file',
    dirPrefix: 'orders-faults-',
    databasePrefix: 'faults',
    log: (line) => {
      process.stderr.write(`[faults] ${line}\n`);
    },
    // If jest itself dies (Ctrl-C, a CI timeout), afterAll never runs: the reaper cleans up then.
    reaper: true,
    apps: SERVICE_APPS,
    appRuntime: 'tsx',
    appReadyTimeoutMs: 90_000,
    appEnv: {
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      NATS_REQUEST_TIMEOUT_MS: '3000',
      // Short, so a create that waits on a dead part answers 503 soon and the caller retries.
      ORDER_CREATE_TIMEOUT_MS: '5000',
    },
  });
  const clients: Array<() => Promise<void>> = [];
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await Promise.allSettled(clients.map((closeClient) => closeClient()));
    await stack.stop();
  };

  try {
    const nest = await connectNestClient(stack.natsUrl);
    clients.push(() => nest.close());
    // The apps' own configuration, so the suite connects exactly as they do.
    const config = parseConfig(stack.env);
    const nats = await connectNats(config.nats, 'orders-fault-suite');
    clients.push(() => nats.close());
    const temporal = await connectTemporalClient(config.temporal);
    clients.push(() => temporal.connection.close());

    return {
      tempDir: stack.dir,
      env: stack.env,
      paymentsWebhookUrl: webhookUrl(stack.paymentsUrl ?? ''),
      webhookSecret: WEBHOOK_SECRET,
      nest,
      nats,
      temporal,
      request: (subject, data, timeoutMs = 20_000) => withDeadline(nest.send(subject, data), timeoutMs, subject),
      async query<R extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<R[]> {
        const client = new pg.Client({ connectionString: stack.databaseUrl, connectionTimeoutMillis: 3_000 });
        client.on('error', () => undefined);
        await client.connect();
        try {
          return (await client.query<R>(text, params)).rows;
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      stopInfra: (name) => stack.stopInfra(name),
      startInfra: (name) => stack.startInfra(name),
      startApp: (name) => stack.startApp(name),
      stopApp: (name) => stack.stopApp(name),
      killApp: (name) => stack.killApp(name),
      isAppRunning: (name) => stack.isAppRunning(name),
      unexpectedExits: () => stack.unexpectedExits(),
      temporalCluster: () => stack.temporalCluster(),
      heal: () => stack.heal(),
      close,
    };
  } catch (error) {
    await close();
    throw error;
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
