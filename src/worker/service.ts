import { Worker, type NativeConnection } from '@temporalio/worker';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Config } from '../config';
import type { DatabasePool } from '../db/pool';
import type { Tracing } from '../observability/tracing';
import { temporalDataConverter } from '../temporal/connection';
import { tracingWorkerOptions } from '../temporal/tracing-interceptors';
import { WORKFLOW_BUNDLER_OPTIONS, WORKFLOWS_PATH } from './workflow-code';
import { setWorkflowStackTraces } from './workflow-stack-traces';
import { workerActivities } from './worker-activities';

export interface OrderWorkerDeps {
  connection: NativeConnection;
  pool: DatabasePool;
  nats: NatsConnection;
  config: Pick<Config, 'temporal' | 'subjects' | 'nats' | 'paymentTrust' | 'stripe' | 'refunds' | 'shutdownTimeoutMs'>;
  /** When tracing is on: activity and workflow spans (a prebuilt bundle must be built with tracing on too). */
  tracing?: Tracing;
}

export interface RunningWorker {
  /** Settles when the worker stops; rejects if it fails on its own. */
  finished: Promise<void>;
  /** Stops polling, lets in-flight activities finish, and resolves once they have. */
  stop(): Promise<void>;
}

/**
 * The worker's part of SHUTDOWN_TIMEOUT_MS: in-flight activities get half of it to finish before
 * they are cancelled, and at 80 % the worker stops waiting for them, which leaves the rest for
 * closing the connections before the process would exit anyway (process-lifecycle.ts).
 */
export function workerShutdownTimes(timeoutMs: number): { shutdownGraceTime: number; shutdownForceTime: number } {
  return { shutdownGraceTime: Math.floor(timeoutMs / 2), shutdownForceTime: Math.floor(timeoutMs * 0.8) };
}

/** Runs OrderWorkflow and its activities on the configured task queue until stopped. */
export async function startOrderWorker({
  connection,
  pool,
  nats,
  config,
  tracing,
}: OrderWorkerDeps): Promise<RunningWorker> {
  // Before Worker.create, which starts the workflow thread.
  setWorkflowStackTraces(config.temporal.workflowStackTraces);
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...(config.temporal.workflowBundle !== undefined
      ? { workflowBundle: { codePath: config.temporal.workflowBundle } }
      : { workflowsPath: WORKFLOWS_PATH, bundlerOptions: WORKFLOW_BUNDLER_OPTIONS }),
    activities: workerActivities({ pool, nats, config }),
    dataConverter: temporalDataConverter(config.temporal),
    // Bounded, so memory stays flat however many orders wait for delivery; an evicted order is
    // replayed from its short history when its next message arrives.
    maxCachedWorkflows: config.temporal.maxCachedWorkflows,
    ...workerShutdownTimes(config.shutdownTimeoutMs),
    ...tracingWorkerOptions(tracing),
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
