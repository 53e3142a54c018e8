/**
 * The two worker settings the empty-workflow floor takes from the service, read from the same
 * environment variables with the same defaults and rules as src/config.ts reads them (without
 * loading the service's whole configuration into the floor's worker):
 *
 * - TEMPORAL_WORKER_MAX_CACHED_WORKFLOWS: an integer >= 0, default 100;
 * - TEMPORAL_WORKER_STACK_TRACES: `true` or `1` turn the SDK's promise stack traces on; unset, empty,
 *   `false` or `0` leave them off.
 *
 * The bench reports the service's own reading (its parsed config) beside this one, so a change of
 * default in src/config.ts shows as a difference in the report rather than passing unseen.
 */
export interface WorkerSettings {
  maxCachedWorkflows: number;
  workflowStackTraces: boolean;
}

export const WORKER_SETTING_VARIABLES = [
  'TEMPORAL_WORKER_MAX_CACHED_WORKFLOWS',
  'TEMPORAL_WORKER_STACK_TRACES',
] as const;

const DEFAULT_MAX_CACHED_WORKFLOWS = 100;

export function workerSettingsFromEnv(env: Record<string, string | undefined>): WorkerSettings {
  const cache = env.TEMPORAL_WORKER_MAX_CACHED_WORKFLOWS;
  // As zod's coerce: an empty value is 0.
  const maxCachedWorkflows = cache === undefined ? DEFAULT_MAX_CACHED_WORKFLOWS : Number(cache.trim());
  if (!Number.isInteger(maxCachedWorkflows) || maxCachedWorkflows < 0)
    throw new Error(`TEMPORAL_WORKER_MAX_CACHED_WORKFLOWS must be an integer >= 0, not ${cache}`);
  const traces = env.TEMPORAL_WORKER_STACK_TRACES;
  if (traces !== undefined && !['true', 'false', '1', '0', ''].includes(traces))
    throw new Error(`TEMPORAL_WORKER_STACK_TRACES must be true, false, 1, 0 or empty, not ${traces}`);
  return { maxCachedWorkflows, workflowStackTraces: traces === 'true' || traces === '1' };
}
