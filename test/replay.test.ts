import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from './workflow/bundles';

const HISTORIES = path.join(__dirname, 'histories');

/**
 * Histories of complete orders, recorded from real runs and kept in the repo: the current
 * workflow code must replay every one, or a change would break orders already in flight.
 */
describe('OrderWorkflow replay', () => {
  // One folder per version of the workflow's commands (see test/histories/record.ts).
  const files = readdirSync(HISTORIES, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.json'));
  const versions = new Set(files.map((file) => path.dirname(file)));

  it('has reference histories of every recorded version to replay', () => {
    expect([...versions].sort()).toEqual(['1.0']);
    for (const version of versions) {
      expect(files.filter((file) => path.dirname(file) === version).length).toBeGreaterThanOrEqual(4);
    }
  });

  it('replays every one with the current code (one bundle for all, the one the stub workers run)', async () => {
    const histories = files.map((file) => ({
      workflowId: `replay-${file}`,
      history: historyFromJSON(JSON.parse(readFileSync(path.join(HISTORIES, file), 'utf8'))),
    }));
    const failed: string[] = [];
    const replayed: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
      replayed.push(result.workflowId);
      if (result.error !== undefined) failed.push(`${result.workflowId}: ${String(result.error)}`);
    }
    expect(failed).toEqual([]);
    expect(replayed.sort()).toEqual(files.map((file) => `replay-${file}`).sort());
  });
});
