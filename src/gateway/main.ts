import { loadConfigOrExit } from '../config';
import { closeDatabasePool, createDatabasePool } from '../db/pool';
import { createLogger } from '../logger';
import { connectNats } from '../nats/connection';
import { PAYMENT_STREAM } from '../nats/payment-stream';
import { watchConsumerLag } from '../observability/consumer-lag';
import { databaseReady, natsReady, temporalReady } from '../observability/readiness';
import { startObservabilityServer } from '../observability/server';
import { startTracing } from '../observability/tracing';
import { runMain, stopOnSignals } from '../process-lifecycle';
import { connectTemporalClient } from '../temporal/connection';
import { PAYMENT_CONSUMER } from './payment-subscriber';
import { startGateway } from './service';

/** `npm run gateway`: the orders gateway as a process. */
async function main(): Promise<void> {
  const config = loadConfigOrExit('gateway');
  const logger = createLogger('gateway', config.logLevel);
  const tracing = startTracing(config.tracing, 'orders-gateway');
  const [nats, temporal, pool] = await Promise.all([
    connectNats(config.nats, 'orders-gateway', logger),
    connectTemporalClient(config.temporal, { tracing: config.tracing.enabled }),
    createDatabasePool(config.databaseUrl),
  ]);
  const gateway = await startGateway({ config, logger, nats, temporal, pool });
  watchConsumerLag(nats, PAYMENT_STREAM, PAYMENT_CONSUMER);
  const observability = await startObservabilityServer({
    port: config.metrics.gatewayPort,
    logger,
    checks: { nats: natsReady(nats), database: databaseReady(pool), temporal: temporalReady(temporal.connection) },
  });
  logger.info({ subjects: gateway.subjects, queue: config.nats.queueGroup }, 'ready');
  stopOnSignals(logger, config.shutdownTimeoutMs, async () => {
    await gateway.stop();
    await observability?.close();
    await Promise.all([nats.drain(), closeDatabasePool(pool), temporal.connection.close()]);
    await tracing?.shutdown();
  });
}

runMain(createLogger('gateway', process.env.LOG_LEVEL ?? 'info'), main);
