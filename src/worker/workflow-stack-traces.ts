import path from 'node:path';
import workerThreads, { type WorkerOptions } from 'node:worker_threads';

/**
 * The Temporal SDK (1.24) collects a stack trace for every promise that workflow code creates, so
 * the `__stack_trace` query (the Web UI's "Stack Trace" tab, `temporal workflow stack`) can say
 * where each open order waits. It does so with a V8 promise hook in the workflow thread that builds
 * an `Error` stack and maps it through the bundle's source map on every promise: about a third of
 * the workflow thread's CPU (docs/performance.md). The SDK has no option for it, but skips it
 * itself when promise hooks are unavailable, and then answers the query with "Workflow stack
 * traces are not enabled on this worker".
 *
 * With stack traces off, the SDK's workflow threads start through a short prelude that replaces the
 * hook's installer (`globalHandlers.setPromiseHook` in the SDK's `vm-shared.js`) with a no-op before
 * the SDK's thread code runs. Only the SDK's workflow threads are touched; Node's own promise hooks
 * (AsyncLocalStorage) and every other thread are left alone. Should a later SDK move these files,
 * the prelude is simply not used and stack traces stay on.
 */
const SDK_WORKFLOW_THREAD = resolveOrNull('@temporalio/worker/lib/workflow/workflow-worker-thread');
const SDK_VM_SHARED =
  SDK_WORKFLOW_THREAD && resolveOrNull(path.join(path.dirname(SDK_WORKFLOW_THREAD), 'vm-shared.js'));

function resolveOrNull(request: string): string | null {
  try {
    return require.resolve(request);
  } catch {
    return null;
  }
}

/**
 * The switch lives on the `node:worker_threads` module object itself, so every copy of this module
 * in a process (Jest loads one per test file, over the same core modules) shares one patch and one
 * setting.
 */
const SWITCH = Symbol.for('orders-service.workflowStackTraces');
interface StackTraceSwitch {
  enabled: boolean;
}
type PatchedModule = typeof workerThreads & { [SWITCH]?: StackTraceSwitch };

/**
 * Whether workflow threads started from now on collect promise stack traces (the SDK's default,
 * true). Process-wide: it applies to every worker created after the call.
 */
export function setWorkflowStackTraces(enabled: boolean): void {
  const threads = workerThreads as PatchedModule;
  const current = threads[SWITCH];
  if (current) current.enabled = enabled;
  else if (!enabled && SDK_WORKFLOW_THREAD && SDK_VM_SHARED)
    patchWorkerThreads(threads, SDK_WORKFLOW_THREAD, SDK_VM_SHARED);
}

function prelude(workflowThread: string, vmShared: string): string {
  return [
    `require(${JSON.stringify(vmShared)}).globalHandlers.setPromiseHook = function () {};`,
    `require(${JSON.stringify(workflowThread)});`,
  ].join('\n');
}

function patchWorkerThreads(threads: PatchedModule, workflowThread: string, vmShared: string): void {
  const setting: StackTraceSwitch = { enabled: false };
  threads[SWITCH] = setting;
  const Original = threads.Worker;
  class WorkflowThread extends Original {
    constructor(filename: string | URL, options?: WorkerOptions) {
      const sdkWorkflowThread = !setting.enabled && filename === workflowThread && options?.eval !== true;
      if (sdkWorkflowThread) super(prelude(workflowThread, vmShared), { ...options, eval: true });
      else super(filename, options);
    }
  }
  // The SDK reads `Worker` from the module object each time it starts a thread.
  Object.defineProperty(threads, 'Worker', {
    value: WorkflowThread,
    writable: true,
    configurable: true,
    enumerable: true,
  });
}
