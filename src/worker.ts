import { Worker, type NativeConnection } from '@temporalio/worker';
import type { NatsConnection } from 'nats';
import { createActivities } from './activities';
import { loadConfigOrExit, type Config } from './config';
import { createOrdersRepository } from './db/orders-repository';
import { createDatabasePool, type DatabasePool } from './db/pool';
import { createLogger } from './logger';
import { connectNats } from './nats/connection';
import { runMain, stopOnSignals } from './process-lifecycle';
import { connectTemporalWorker } from './temporal/connection';

export interface OrderWorkerDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  pool: DatabasePool;
  nats: NatsConnection;
  config: Pick<Config, 'subjects' | 'nats'>;
}

/** The worker that runs OrderWorkflow and its activities on one task queue. */
export function createOrderWorker(deps: OrderWorkerDeps): Promise<Worker> {
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue,
    workflowsPath: require.resolve('./workflows'),
    activities: createActivities({
      orders: createOrdersRepository(deps.pool),
      nats: deps.nats,
      config: deps.config,
    }),
  });
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger('worker', config.logLevel);
  const [connection, pool, nats] = await Promise.all([
    connectTemporalWorker(config.temporal),
    createDatabasePool(config.databaseUrl),
    connectNats(config.nats, 'orders-worker'),
  ]);
  const worker = await createOrderWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    pool,
    nats,
    config,
  });
  const running = worker.run();
  logger.info({ taskQueue: config.temporal.taskQueue, temporal: config.temporal.address }, 'ready');
  stopOnSignals(logger, async () => {
    // shutdown() lets in-flight activities finish; run() resolves once they have.
    worker.shutdown();
    await running;
    await Promise.all([nats.drain(), pool.end(), connection.close()]);
  });
  await running;
}

if (require.main === module) runMain(createLogger('worker', process.env.LOG_LEVEL ?? 'info'), main);
