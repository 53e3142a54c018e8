import { attemptsWithin } from '../../src/workflows/activity-proxies';

// Local activities ignore their scheduleToCloseTimeout across retries, so placement is bounded by
// attempts: without the bound, a products service that stays down held an order (and its caller)
// for ever instead of rejecting it (test/orders-outages.test.ts).
describe('attemptsWithin', () => {
  it('counts the attempts whose backoffs (0.5 s, doubling, at most 30 s) fit in the budget', () => {
    expect(attemptsWithin(0)).toBe(1);
    expect(attemptsWithin(499)).toBe(1);
    expect(attemptsWithin(500)).toBe(2);
    expect(attemptsWithin(1_500)).toBe(3);
    // 0.5 + 1 + 2 + 4 + 8 + 16 = 31.5 s, then eight backoffs of 30 s fit in 5 minutes.
    expect(attemptsWithin(300_000)).toBe(15);
  });
});
