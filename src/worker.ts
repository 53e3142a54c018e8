import { Runtime, Worker, type NativeConnection } from '@temporalio/worker';
import type { NatsConnection } from 'nats';
import { createActivities } from './activities';
import { loadConfigOrExit, type Config } from './config';
import { createOrdersRepository } from './db/orders-repository';
import { createDatabasePool, type DatabasePool, closeDatabasePool } from './db/pool';
import { createLogger } from './logger';
import { connectNats } from './nats/connection';
import { databaseReady, natsReady, temporalReady } from './observability/readiness';
import { startObservabilityServer } from './observability/server';
import { runMain, stopOnSignals } from './process-lifecycle';
import { connectTemporalWorker, temporalDataConverter } from './temporal/connection';
import { temporalRuntimeOptions } from './temporal/sdk-runtime';

export interface OrderWorkerDeps {
  connection: NativeConnection;
  pool: DatabasePool;
  nats: NatsConnection;
  config: Pick<Config, 'temporal' | 'subjects' | 'nats'>;
}

export interface RunningWorker {
  /** Settles when the worker stops; rejects if it fails on its own. */
  finished: Promise<void>;
  /** Stops polling, lets in-flight activities finish, and resolves once they have. */
  stop(): Promise<void>;
}

/** The workflow code's entry point, bundled at start unless a prebuilt bundle is configured. */
export const WORKFLOWS_PATH = require.resolve('./workflows');

/** Runs OrderWorkflow and its activities on the configured task queue until stopped. */
export async function startOrderWorker({ connection, pool, nats, config }: OrderWorkerDeps): Promise<RunningWorker> {
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...(config.temporal.workflowBundle !== undefined
      ? { workflowBundle: { codePath: config.temporal.workflowBundle } }
      : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities({ orders: createOrdersRepository(pool), nats, config }),
    dataConverter: temporalDataConverter(config.temporal),
    // Bounded, so memory stays flat however many orders wait for delivery; an evicted order is
    // replayed from its short history when its next message arrives.
    maxCachedWorkflows: config.temporal.maxCachedWorkflows,
  });
  const running = worker.run();
  return {
    finished: running,
    async stop() {
      worker.shutdown();
      await running;
    },
  };
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger('worker', config.logLevel);
  // Once per process, before any worker or connection exists.
  Runtime.install(temporalRuntimeOptions(logger, config));
  const [connection, pool, nats] = await Promise.all([
    connectTemporalWorker(config.temporal),
    createDatabasePool(config.databaseUrl),
    connectNats(config.nats, 'orders-worker'),
  ]);
  const worker = await startOrderWorker({ connection, pool, nats, config });
  const observability = await startObservabilityServer({
    port: config.metrics.workerPort,
    logger,
    checks: { nats: natsReady(nats), database: databaseReady(pool), temporal: temporalReady(connection) },
  });
  logger.info({ taskQueue: config.temporal.taskQueue, temporal: config.temporal.address }, 'ready');
  stopOnSignals(logger, async () => {
    await worker.stop();
    await observability?.close();
    await Promise.all([nats.drain(), closeDatabasePool(pool), connection.close()]);
  });
  await worker.finished;
}

if (require.main === module) runMain(createLogger('worker', process.env.LOG_LEVEL ?? 'info'), main);
