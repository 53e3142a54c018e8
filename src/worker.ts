import { Runtime } from '@temporalio/worker';
import { loadConfigOrExit } from './config';
import { closeDatabasePool, createDatabasePool } from './db/pool';
import { createLogger } from './logger';
import { connectNats } from './nats/connection';
import { databaseReady, natsReady, temporalReady } from './observability/readiness';
import { startObservabilityServer } from './observability/server';
import { startTracing } from './observability/tracing';
import { runMain, stopOnSignals } from './process-lifecycle';
import { connectTemporalWorker } from './temporal/worker-connection';
import { missingSearchAttributes, missingSearchAttributesError } from './temporal/search-attributes';
import { temporalRuntimeOptions } from './temporal/sdk-runtime';
import { startOrderWorker } from './worker/service';

/** `npm run worker`: the Temporal worker as a process. */
async function main(): Promise<void> {
  const config = loadConfigOrExit('worker');
  const logger = createLogger('worker', config.logLevel);
  // Once per process, before any worker or connection exists.
  Runtime.install(temporalRuntimeOptions(logger, config));
  const tracing = startTracing(config.tracing, 'orders-worker');
  const [connection, pool, nats] = await Promise.all([
    connectTemporalWorker(config.temporal),
    createDatabasePool(config.databaseUrl),
    connectNats(config.nats, 'orders-worker', logger),
  ]);
  const missing = await missingSearchAttributes(connection, config.temporal.namespace);
  if (missing === null)
    logger.warn(
      { namespace: config.temporal.namespace },
      'could not list search attributes; assuming they are registered',
    );
  else if (missing.length > 0) throw missingSearchAttributesError(config.temporal.namespace, missing);
  const worker = await startOrderWorker({ connection, pool, nats, config, tracing });
  const observability = await startObservabilityServer({
    port: config.metrics.workerPort,
    logger,
    checks: { nats: natsReady(nats), database: databaseReady(pool), temporal: temporalReady(connection) },
  });
  logger.info({ taskQueue: config.temporal.taskQueue, temporal: config.temporal.address }, 'ready');
  stopOnSignals(logger, config.shutdownTimeoutMs, async () => {
    await worker.stop();
    await observability?.close();
    await Promise.all([nats.drain(), closeDatabasePool(pool), connection.close()]);
    await tracing?.shutdown();
  });
  await worker.finished;
}

runMain(createLogger('worker', process.env.LOG_LEVEL ?? 'info'), main);
