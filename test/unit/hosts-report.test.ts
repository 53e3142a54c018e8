import {
  callersSettled,
  errorsByKind,
  expectedOrders,
  finalLine,
  formatTable,
  percentile,
  recoveryMs,
  serviceRecoveredMs,
  verify,
  windowStats,
  type LoadEvent,
  type ScenarioRow,
} from '../../dev/hosts/report';

const times = { start: 0, faultStart: 10_000, faultEnd: 40_000, afterEnd: 60_000 };

const create = (seq: number, sentAt: number, latency: number, attempts = 1): LoadEvent => ({
  e: 'create',
  seq,
  key: `k${seq}`,
  orderId: `o${seq}`,
  sentAt,
  at: sentAt + latency,
  attempts,
});
const pay = (seq: number, at: number): LoadEvent => ({
  e: 'pay',
  seq,
  orderId: `o${seq}`,
  paymentId: `pi${seq}`,
  at,
  copies: 1,
});

describe('the multi-host report', () => {
  it('finds nothing lost or doubled when every accepted order is stored, run once and paid once', () => {
    const verdict = verify(
      [
        { orderId: 'a', paymentId: 'pa' },
        { orderId: 'b', paymentId: null },
      ],
      {
        orders: [
          { id: 'a', status: 'PAID' },
          { id: 'b', status: 'PENDING' },
        ],
        payments: [{ orderId: 'a', paymentId: 'pa', outcome: 'APPLIED' }],
        refunds: [],
        runs: new Map([
          ['a', 1],
          ['b', 1],
        ]),
      },
    );
    expect(verdict).toEqual({ paid: 1, refunded: 0, lost: 0, doubled: 0, rejectedRuns: 0, problems: [] });
  });

  it('counts a missing row, a missing workflow and an unapplied payment as lost', () => {
    const verdict = verify(
      [
        { orderId: 'a', paymentId: null },
        { orderId: 'b', paymentId: null },
        { orderId: 'c', paymentId: 'pc' },
      ],
      {
        orders: [
          { id: 'b', status: 'PENDING' },
          { id: 'c', status: 'PENDING' },
        ],
        payments: [],
        refunds: [],
        runs: new Map([['c', 1]]),
      },
    );
    expect(verdict.lost).toBe(3);
    expect(verdict.doubled).toBe(0);
  });

  it('counts second runs, second applied payments and second refunds as doubled', () => {
    const verdict = verify([{ orderId: 'a', paymentId: 'p1' }], {
      orders: [{ id: 'a', status: 'PAID' }],
      payments: [
        { orderId: 'a', paymentId: 'p1', outcome: 'APPLIED' },
        { orderId: 'a', paymentId: 'p2', outcome: 'APPLIED' },
      ],
      refunds: [
        { orderId: 'a', paymentId: 'p1' },
        { orderId: 'a', paymentId: 'p2' },
      ],
      runs: new Map([['a', 2]]),
    });
    expect(verdict).toMatchObject({ lost: 0, doubled: 3, refunded: 2, paid: 1 });
  });

  it('takes the orders whose create was sent in the window, with the payment accepted for each', () => {
    const events = [create(1, -1, 5), create(2, 5_000, 100), pay(2, 5_200), create(3, 59_000, 2_000)];
    expect(expectedOrders(events, times)).toEqual([
      { orderId: 'o2', paymentId: 'pi2' },
      { orderId: 'o3', paymentId: null },
    ]);
  });

  it('waits for every order sent in the window to be paid or given up', () => {
    const sent = (seq: number, at: number): LoadEvent => ({ e: 'sent', seq, at });
    const events: LoadEvent[] = [sent(1, 100), sent(2, 200), create(1, 100, 50), pay(1, 300)];
    expect(callersSettled(events, 0, 1_000)).toBe(false);
    expect(callersSettled([...events, { e: 'create-gave-up', seq: 2, key: 'k2', at: 900 }], 0, 1_000)).toBe(true);
  });

  it('computes rate and p99 per window, and errors by kind', () => {
    const events = [
      create(1, 10_000, 100),
      create(2, 20_000, 9_000, 3),
      { e: 'create-error', seq: 2, at: 25_000, kind: '503' } as LoadEvent,
      { e: 'create-error', seq: 2, at: 26_000, kind: '503' } as LoadEvent,
      { e: 'pay-error', seq: 1, at: 70_000, kind: 'webhook-503' } as LoadEvent,
    ];
    expect(windowStats(events, 10_000, 40_000)).toEqual({ createdPerSecond: 0.1, createP99Ms: 9_000 });
    expect(errorsByKind(events, times)).toEqual({ 'create 503': 2 });
    expect(percentile([], 0.99)).toBeNull();
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
  });

  it('recovers at the first create after the fault from which every create was served at once', () => {
    const events = [
      create(1, 41_000, 5_000, 2),
      create(2, 42_000, 200),
      create(3, 43_000, 4_000),
      create(4, 44_000, 100),
    ];
    const sent = events.map((event): LoadEvent => ({ e: 'sent', seq: (event as { seq: number }).seq, at: 41_000 }));
    expect(serviceRecoveredMs([...sent, ...events], 40_000, 60_000, 3_000)).toBe(4_000);
    expect(serviceRecoveredMs([...sent, create(1, 41_000, 5_000, 2)], 40_000, 60_000, 3_000)).toBeNull();
    expect(recoveryMs(4_000, 50_000, 40_000)).toBe(10_000);
    expect(recoveryMs(4_000, 41_000, 40_000)).toBe(4_000);
    expect(recoveryMs(null, 41_000, 40_000)).toBeNull();
  });

  it('ends with one line of totals', () => {
    const row = (lost: number, doubled: number): ScenarioRow => ({
      name: 'x',
      created: 10,
      paid: 10,
      refunded: 0,
      lost,
      doubled,
      rejectedRuns: 0,
      problems: [],
      errors: { 'create 503': 1 },
      before: { createdPerSecond: 5, createP99Ms: 80 },
      during: { createdPerSecond: 4, createP99Ms: 900 },
      after: { createdPerSecond: 5, createP99Ms: 90 },
      recoveryMs: 1_500,
      auditClean: true,
    });
    expect(finalLine([row(0, 0), row(2, 1)])).toBe('hosts: 2 scenarios, lost 2, doubled 1');
    expect(formatTable([row(0, 0)])).toContain(
      '| x        | 10      | 10   | 0        | 0    | 0       | create 503×1',
    );
  });
});
