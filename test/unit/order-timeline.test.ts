import { readFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { orderTimeline } from '../../src/cli/timeline';

const HISTORIES = path.resolve(__dirname, '../histories/1.0');

const eventsOf = (file: string): string[] =>
  orderTimeline(historyFromJSON(JSON.parse(readFileSync(path.join(HISTORIES, file), 'utf8')))).map(
    (entry) => entry.event,
  );

describe('order timeline from the workflow history', () => {
  it('reads a paid and delivered order', () => {
    expect(eventsOf('paid-then-delivered.json')).toEqual([
      'workflow started',
      'placing',
      'placed',
      'checkout session opened',
      'payment received',
      'paid',
      'delivered',
      'workflow closed',
    ]);
  });

  it('reads a paid order cancelled with a refund', () => {
    expect(eventsOf('paid-then-cancelled-with-refund.json')).toEqual(
      expect.arrayContaining([
        'placed',
        'checkout session opened',
        'payment received',
        'paid',
        'refund requested',
        'cancelled',
      ]),
    );
  });

  it('reads an order whose payment window ended', () => {
    expect(eventsOf('payment-window-expired.json')).toEqual(
      expect.arrayContaining([
        'checkout session opened',
        'payment window end signalled',
        'checkout session expired',
        'cancelled',
      ]),
    );
  });

  it('reads a rejected order: placing from the start, rejected when nothing was stored', () => {
    expect(eventsOf('rejected-unknown-product.json')).toEqual([
      'workflow started',
      'placing',
      'rejected: placement stored nothing',
      'workflow closed',
    ]);
  });

  it('stamps every entry with its event time, in order', () => {
    const history = historyFromJSON(JSON.parse(readFileSync(path.join(HISTORIES, 'paid-then-delivered.json'), 'utf8')));
    const timeline = orderTimeline(history);
    const started = history.events?.[0]?.eventTime;
    const startedMs = Number(started?.seconds) * 1_000 + Math.floor((started?.nanos ?? 0) / 1e6);
    expect(timeline[0]).toMatchObject({
      at: new Date(startedMs).toISOString(),
      event: 'workflow started',
      detail: 'OrderWorkflow',
    });
    const times = timeline.map((entry) => entry.at);
    expect([...times].sort()).toEqual(times);
    expect(timeline.find((entry) => entry.event === 'payment received')?.detail).toMatch(/^pi_/);
  });
});
