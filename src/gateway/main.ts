import type { Client } from '@temporalio/client';
import type { NatsConnection } from 'nats';
import { loadConfigOrExit, type Config } from '../config';
import { createDeadLettersRepository } from '../db/dead-letters-repository';
import { createOrdersRepository } from '../db/orders-repository';
import { createDatabasePool, type DatabasePool, closeDatabasePool } from '../db/pool';
import { isDatabaseUnavailable } from '../db/unavailable';
import { createLogger, type Logger } from '../logger';
import { connectNats } from '../nats/connection';
import { RpcError, serveRequests } from '../nats/nest-transport';
import { PAYMENT_STREAM } from '../nats/payment-stream';
import { watchConsumerLag } from '../observability/consumer-lag';
import { databaseReady, natsReady, temporalReady } from '../observability/readiness';
import { startObservabilityServer } from '../observability/server';
import { runMain, stopOnSignals } from '../process-lifecycle';
import { connectTemporalClient } from '../temporal/connection';
import { createOrderHandlers, ORDER_SUBJECTS } from './order-handlers';
import { PAYMENT_CONSUMER, startPaymentSubscriber } from './payment-subscriber';

export interface GatewayDeps {
  config: Config;
  logger: Logger;
  nats: NatsConnection;
  temporal: Client;
  pool: DatabasePool;
}

export interface Gateway {
  /** Stops taking requests and events, and finishes those in flight. */
  stop(): Promise<void>;
}

/** A database outage is a 503 the caller can retry, never a 500. */
async function databaseOutageAs503<T>(handle: () => Promise<T>): Promise<T> {
  try {
    return await handle();
  } catch (error) {
    if (!isDatabaseUnavailable(error)) throw error;
    throw new RpcError(503, 'The orders database is unavailable right now; retry shortly (with the same idempotencyKey)');
  }
}

/** The orders gateway: NATS request handlers plus the payment subscriber. */
export async function startGateway({ config, logger, nats, temporal, pool }: GatewayDeps): Promise<Gateway> {
  const orders = createOrdersRepository(pool);
  const handlers = createOrderHandlers({
    temporal,
    orders,
    taskQueue: config.temporal.taskQueue,
    settings: config.orders,
    logger,
  });
  const server = serveRequests(
    nats,
    Object.keys(ORDER_SUBJECTS),
    config.nats.queueGroup,
    (payload, subject) => databaseOutageAs503<unknown>(() => handlers[ORDER_SUBJECTS[subject] as keyof typeof handlers](payload)),
    logger,
  );
  // A round trip, so a request sent once this resolves cannot meet "no responders".
  await nats.flush();
  const payments = await startPaymentSubscriber({
    nats,
    temporal,
    orders,
    deadLetters: createDeadLettersRepository(pool),
    taskQueue: config.temporal.taskQueue,
    settings: config.orders,
    stream: config.paymentStream,
    logger,
  });
  return {
    async stop() {
      await Promise.all([server.drain(), payments.stop()]);
    },
  };
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger('gateway', config.logLevel);
  const [nats, temporal, pool] = await Promise.all([
    connectNats(config.nats, 'orders-gateway'),
    connectTemporalClient(config.temporal),
    createDatabasePool(config.databaseUrl),
  ]);
  const gateway = await startGateway({ config, logger, nats, temporal, pool });
  watchConsumerLag(nats, PAYMENT_STREAM, PAYMENT_CONSUMER);
  const observability = await startObservabilityServer({
    port: config.metrics.gatewayPort,
    logger,
    checks: { nats: natsReady(nats), database: databaseReady(pool), temporal: temporalReady(temporal.connection) },
  });
  logger.info({ subjects: Object.keys(ORDER_SUBJECTS), queue: config.nats.queueGroup }, 'ready');
  stopOnSignals(logger, async () => {
    await gateway.stop();
    await observability?.close();
    await Promise.all([nats.drain(), closeDatabasePool(pool), temporal.connection.close()]);
  });
}

if (require.main === module) runMain(createLogger('gateway', process.env.LOG_LEVEL ?? 'info'), main);
