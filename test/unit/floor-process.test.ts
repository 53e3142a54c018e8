import { runFloor } from '../../bench/floors/floor-process';
import { limitHeapGrowth } from '../../src/heap-growth';

jest.mock('../../src/heap-growth', () => ({ limitHeapGrowth: jest.fn() }));

// The bench compares like with like: a floor's process limits its heaps' growth as the service's
// processes do (runMain), before its main allocates anything.
it("runs a floor's main with the heaps limited as the service's processes limit theirs", () => {
  const main = jest.fn(() => new Promise<() => Promise<void>>(() => undefined));
  runFloor('a-floor', main);
  const limit = jest.mocked(limitHeapGrowth);
  expect(limit).toHaveBeenCalledTimes(1);
  expect(main).toHaveBeenCalledTimes(1);
  expect(limit.mock.invocationCallOrder[0]).toBeLessThan(main.mock.invocationCallOrder[0] as number);
});
