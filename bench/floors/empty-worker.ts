import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import pg from 'pg';
import { createEmptyActivities } from './empty-activities';
import { FLOOR_SETTINGS, logLine, runFloor } from './floor-process';
import { EMPTY_TASK_QUEUE } from './subjects';

/** Floor 2's worker: EmptyOrderWorkflow and its activities, with the SDK's default worker settings. */
const NAME = 'empty-worker';

runFloor(NAME, async () => {
  Runtime.install({
    logger: {
      log: () => undefined,
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: (message) => logLine(NAME, 'info', `sdk warning: ${message}`),
      error: (message) => logLine(NAME, 'error', `sdk error: ${message}`),
    },
  });
  const pool = new pg.Pool({ connectionString: FLOOR_SETTINGS.emptyDatabaseUrl, max: 10 });
  pool.on('error', (error) => logLine(NAME, 'error', 'pool error', { err: String(error) }));
  const connection = await NativeConnection.connect({ address: FLOOR_SETTINGS.temporalAddress });
  const worker = await Worker.create({
    connection,
    taskQueue: EMPTY_TASK_QUEUE,
    workflowsPath: require.resolve('./empty-workflow'),
    activities: createEmptyActivities(pool),
  });
  const running = worker.run();
  running.catch((error: unknown) => {
    logLine(NAME, 'error', 'worker failed', { err: String(error) });
    process.exit(1);
  });
  return async () => {
    worker.shutdown();
    await running;
    await Promise.all([connection.close(), pool.end()]);
  };
});
