import v8 from 'node:v8';
import { HEAP_GROWING_PERCENT } from '../../src/heap-growth';
import { runMain } from '../../src/process-lifecycle';
import type { Logger } from '../../src/logger';

/*
 * What the limit buys is measured by `npm run bench` (docs/performance.md): V8's own growth
 * depends on how fast collections look on a loaded machine, so a heap size is no assertion here.
 */
describe('a process started through runMain', () => {
  afterEach(() => jest.restoreAllMocks());

  it('limits its heaps’ growth before its main function runs', async () => {
    const setFlags = jest.spyOn(v8, 'setFlagsFromString');
    const flagsWhenMainRan: unknown[][] = [];
    await new Promise<void>((resolve) => {
      runMain({ fatal: jest.fn() } as unknown as Logger, async () => {
        flagsWhenMainRan.push(...setFlags.mock.calls);
        resolve();
      });
    });
    expect(flagsWhenMainRan).toEqual([[`--heap-growing-percent=${HEAP_GROWING_PERCENT}`]]);
  });
});
