import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { Runtime, type NativeConnection } from '@temporalio/worker';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { NatsConnection } from '@nats-io/nats-core';
import { parseConfig, type Config } from '../../src/config';
import { createOrdersRepository, type OrdersRepository } from '../../src/db/orders-repository';
import { createDatabasePool, type DatabasePool, closeDatabasePool } from '../../src/db/pool';
import { startGateway } from '../../src/gateway/service';
import { PAYMENT_CONSUMER } from '../../src/gateway/payment-subscriber';
import { createLogger, type Logger } from '../../src/logger';
import { connectNats } from '../../src/nats/connection';
import { PAYMENT_STREAM } from '../../src/nats/payment-stream';
import { watchConsumerLag } from '../../src/observability/consumer-lag';
import { databaseReady, natsReady, temporalReady, type ReadinessChecks } from '../../src/observability/readiness';
import { startObservabilityServer, type ObservabilityServer } from '../../src/observability/server';
import { startTracing } from '../../src/observability/tracing';
import { createStripeClient } from '../../src/payments/stripe-client';
import { startPaymentsService, type PaymentsService } from '../../src/payments/service';
import { startProductsService, type ProductsService } from '../../src/products/service';
import { connectTemporalClient } from '../../src/temporal/connection';
import { connectTemporalWorker } from '../../src/temporal/worker-connection';
import { temporalRuntimeOptions } from '../../src/temporal/sdk-runtime';
import { startOrderWorker } from '../../src/worker/service';
import { connectNestClient, type NestClient } from './nest-client';
import { ordersClient, type OrdersClient } from './orders-client';

let sdkLoggerInstalled = false;

export type Part = 'products' | 'payments' | 'worker' | 'gateway';

export interface TestSystem {
  config: Config;
  nats: NatsConnection;
  pool: DatabasePool;
  orders: OrdersRepository;
  temporal: Client;
  /** A real NestJS ClientProxy over NATS, as the peers of the orders service use. */
  nest: NestClient;
  /** The orders subjects through `nest`: place, find, change status, pay, wait for a status. */
  client: OrdersClient;
  paymentsUrl: string;
  /**
   * Base URL of each part's /metrics, /healthz and /readyz, for the parts whose *_METRICS_PORT is
   * set (the test setup turns them off). In this one process the parts share one metrics registry.
   */
  observability: Partial<Record<Part, string>>;
  /** Stops one part of the system, to test how the others behave without it. */
  stopPart(name: Part): Promise<void>;
  /** Starts a part again after stopPart. */
  startPart(name: 'products' | 'worker' | 'gateway'): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The whole system in this process, on the real services of the test run (global setup): worker,
 * gateway, products and payments, with a task queue of its own so test files never share work.
 */
export async function startTestSystem(
  overrides: Record<string, string> = {},
  options: { logger?: Logger; spanProcessor?: SpanProcessor } = {},
): Promise<TestSystem> {
  const config = parseConfig({
    ...process.env,
    TEMPORAL_TASK_QUEUE: `orders-test-${randomUUID().slice(0, 8)}`,
    PAYMENTS_HTTP_PORT: '1',
    // Orders whose payment window is short are cancelled promptly.
    PAYMENT_WINDOW_SWEEP_MS: '200',
    ...overrides,
  });
  // A test may pass its own logger to read what the parts log.
  const logger = options.logger ?? createLogger('test', config.logLevel);
  // The SDK's own logs follow LOG_LEVEL too (silent in tests unless asked for); its metrics are
  // served on WORKER_SDK_METRICS_PORT when a test sets one.
  if (!sdkLoggerInstalled) {
    Runtime.install(temporalRuntimeOptions(logger, config));
    sdkLoggerInstalled = true;
  }
  // With TRACING_ENABLED, one tracer provider for every part (one process); a test hands in its span processor.
  const tracing = startTracing(config.tracing, 'orders-test', options.spanProcessor);
  const [pool, nats, temporal, workerConnection]: [DatabasePool, NatsConnection, Client, NativeConnection] =
    await Promise.all([
      createDatabasePool(config.databaseUrl),
      connectNats(config.nats, 'orders-test'),
      connectTemporalClient(config.temporal, { tracing: config.tracing.enabled }),
      connectTemporalWorker(config.temporal),
    ]);

  // What has started so far, stopped again (newest first) if a later part fails to start: a part
  // left running would answer the run's shared NATS subjects for every later test file.
  const started: Array<() => Promise<unknown>> = [
    () => Promise.all([nats.drain(), closeDatabasePool(pool), temporal.connection.close(), workerConnection.close()]),
  ];
  try {
    return await assemble();
  } catch (error) {
    for (const stop of started.reverse()) await stop().catch(() => undefined);
    await tracing?.shutdown();
    throw error;
  }

  async function assemble(): Promise<TestSystem> {
    const payments: PaymentsService = await startPaymentsService({
      nats,
      stripe: createStripeClient(config.stripe),
      logger,
      config: { ...config, payments: { ...config.payments, httpPort: 0 } },
    });
    const starters = {
      products: (): Promise<ProductsService> => startProductsService({ nats, pool, logger, config }),
      worker: () => startOrderWorker({ connection: workerConnection, pool, nats, config, tracing }),
      gateway: () => startGateway({ config, logger, nats, temporal, pool }),
    };
    const parts = new Map<Part, { stop(): Promise<void> }>([['payments', payments]]);
    started.push(async () => {
      for (const part of parts.values()) await part.stop();
    });
    for (const name of ['products', 'worker', 'gateway'] as const) parts.set(name, await starters[name]());
    const nest = await connectNestClient(config.nats.url);
    started.push(() => nest.close());

    // As each process's main wires them.
    const checks: Record<Part, ReadinessChecks> = {
      products: { nats: natsReady(nats), database: databaseReady(pool) },
      payments: { nats: natsReady(nats) },
      worker: { nats: natsReady(nats), database: databaseReady(pool), temporal: temporalReady(workerConnection) },
      gateway: { nats: natsReady(nats), database: databaseReady(pool), temporal: temporalReady(temporal.connection) },
    };
    const metricsPorts: Record<Part, number | undefined> = {
      products: config.metrics.productsPort,
      payments: config.metrics.paymentsPort,
      worker: config.metrics.workerPort,
      gateway: config.metrics.gatewayPort,
    };
    const servers = new Map<Part, ObservabilityServer>();
    for (const part of Object.keys(checks) as Part[]) {
      const server = await startObservabilityServer({ port: metricsPorts[part], logger, checks: checks[part] });
      if (server !== undefined) servers.set(part, server);
    }
    started.push(() => Promise.all([...servers.values()].map((server) => server.close())));
    const unwatchLag = watchConsumerLag(nats, PAYMENT_STREAM, PAYMENT_CONSUMER);

    const stopPart = async (name: Part): Promise<void> => {
      await parts.get(name)?.stop();
      parts.delete(name);
    };
    const startPart = async (name: keyof typeof starters): Promise<void> => {
      if (!parts.has(name)) parts.set(name, await starters[name]());
    };

    return {
      config,
      nats,
      pool,
      orders: createOrdersRepository(pool),
      temporal,
      nest,
      client: ordersClient(nest),
      paymentsUrl: payments.url,
      observability: Object.fromEntries([...servers].map(([part, server]) => [part, server.url])),
      stopPart,
      startPart,
      async stop() {
        await nest.close();
        unwatchLag();
        await Promise.all([...servers.values()].map((server) => server.close()));
        for (const name of ['gateway', 'products', 'payments', 'worker'] as const) await stopPart(name);
        await Promise.all([
          nats.drain(),
          closeDatabasePool(pool),
          temporal.connection.close(),
          workerConnection.close(),
        ]);
        await tracing?.shutdown();
      },
    };
  }
}
