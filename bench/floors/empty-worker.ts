import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import pg from 'pg';
import { setWorkflowStackTraces } from '../../src/worker/workflow-stack-traces';
import { workerSettingsFromEnv } from '../worker-settings';
import { createEmptyActivities } from './empty-activities';
import { FLOOR_SETTINGS, logLine, runFloor } from './floor-process';
import { EMPTY_TASK_QUEUE } from './subjects';

/**
 * Floor 2's worker: EmptyOrderWorkflow and its activities, with the SDK's default worker settings
 * except the two the service's worker sets (src/worker/service.ts), read as the service reads
 * them: its workflow cache size and its stack-trace switch. Like the service's, it loads a prebuilt
 * workflow bundle when BENCH_EMPTY_WORKFLOW_BUNDLE names one (the bench always builds one), and
 * bundles at start with the same bundler option (preloaded workflow modules) otherwise.
 */
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
  const settings = workerSettingsFromEnv(process.env);
  const bundle = process.env.BENCH_EMPTY_WORKFLOW_BUNDLE || undefined;
  logLine(NAME, 'info', 'worker settings', { ...settings, workflowBundle: bundle ?? 'bundled at start' });
  const pool = new pg.Pool({ connectionString: FLOOR_SETTINGS.emptyDatabaseUrl, max: 10 });
  pool.on('error', (error) => logLine(NAME, 'error', 'pool error', { err: String(error) }));
  const connection = await NativeConnection.connect({ address: FLOOR_SETTINGS.temporalAddress });
  // Before Worker.create, which starts the workflow thread.
  setWorkflowStackTraces(settings.workflowStackTraces);
  const workflowsPath = bundle === undefined ? require.resolve('./empty-workflow') : undefined;
  const worker = await Worker.create({
    connection,
    taskQueue: EMPTY_TASK_QUEUE,
    ...(bundle !== undefined
      ? { workflowBundle: { codePath: bundle } }
      : { workflowsPath, bundlerOptions: { preloadModules: [workflowsPath as string] } }),
    activities: createEmptyActivities(pool),
    maxCachedWorkflows: settings.maxCachedWorkflows,
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
