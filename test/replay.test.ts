import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';

const HISTORIES = path.join(__dirname, 'histories');

/**
 * Histories of complete orders, recorded from real runs and kept in the repo: the current
 * workflow code must replay every one, or a change would break orders already in flight.
 */
describe('OrderWorkflow replay', () => {
  const files = readdirSync(HISTORIES).filter((file) => file.endsWith('.json'));

  it('has reference histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(4);
  });

  it.each(files)('replays %s', async (file) => {
    const history = historyFromJSON(JSON.parse(readFileSync(path.join(HISTORIES, file), 'utf8')));
    await Worker.runReplayHistory({ workflowsPath: require.resolve('../src/workflows') }, history, `replay-${file}`);
  });
});
