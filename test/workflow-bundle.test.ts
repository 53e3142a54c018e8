import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ReusableVMWorkflowCreator } from '@temporalio/worker/lib/workflow/reusable-vm';
import type { WorkflowInfo } from '@temporalio/workflow';
import { bundleWorkflows } from '../src/scripts/bundle-workflows';

// The SDK's reused V8 context (its internal creator, as the worker's workflow thread uses it):
// which of the bundle's modules does each new order load for itself?
describe('the prebuilt workflow bundle', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'workflow-bundle-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const info = (runId: string) =>
    ({
      workflowId: `order-${runId}`,
      runId,
      workflowType: 'OrderWorkflow',
      taskQueue: 'orders',
      namespace: 'default',
      firstExecutionRunId: runId,
      originalExecutionRunId: runId,
      startTime: new Date(),
      runStartTime: new Date(),
      taskTimeoutMs: 10_000,
      attempt: 1,
      historyLength: 1,
      historySize: 0,
      continueAsNewSuggested: false,
      unsafe: { now: Date.now, isReplaying: false, isReplayingHistoryEvents: false },
    }) as unknown as WorkflowInfo;

  it('loads the orders code once, shared by every order, instead of once per order', async () => {
    const file = path.join(dir, 'workflows.js');
    await bundleWorkflows(file);
    const code = readFileSync(file, 'utf8');
    const sourceMap = { version: 3, file: 'workflows.js', sources: [], names: [], mappings: '' };
    const creator = await ReusableVMWorkflowCreator.create(
      { code, sourceMap, filename: 'workflows.js' },
      5_000,
      new Set(),
      undefined,
    );
    try {
      const modulesOfEachOrder = [];
      for (const runId of ['run-1', 'run-2']) {
        const workflow = await creator.createWorkflow({
          info: info(runId),
          randomnessSeed: [1],
          now: Date.now(),
          showStackTraceSources: false,
        });
        const moduleCache = (workflow as unknown as { activator: { moduleCache: Map<string, unknown> } }).activator
          .moduleCache;
        modulesOfEachOrder.push([...moduleCache.keys()].filter((id) => id.startsWith('./')));
        await workflow.dispose();
      }
      // Without preloading, each order loaded 20 modules: src/workflows, src/orders and part of @temporalio/workflow.
      expect(modulesOfEachOrder).toEqual([[], []]);
    } finally {
      await creator.destroy();
    }
  });
});
