/**
 * The arithmetic of a scenario's report, pure so it is unit tested (test/unit/hosts-report.test.ts):
 * what the load host saw, what the stores hold, and the row and final line the runner prints.
 */

/** One line of the load host's events file. */
export type LoadEvent =
  | { e: 'sent'; seq: number; at: number }
  | { e: 'create'; seq: number; key: string; orderId: string; sentAt: number; at: number; attempts: number }
  | { e: 'create-error'; seq: number; at: number; kind: string }
  | { e: 'create-gave-up'; seq: number; key: string; at: number }
  | { e: 'pay'; seq: number; orderId: string; paymentId: string; at: number; copies: number }
  | { e: 'pay-error'; seq: number; at: number; kind: string }
  | { e: 'pay-gave-up'; seq: number; orderId: string; paymentId: string; at: number }
  | { e: 'drained'; at: number };

/** A scenario's moments (ms since the epoch): load before the fault, the fault, the time after it. */
export interface ScenarioTimes {
  start: number;
  faultStart: number;
  faultEnd: number;
  afterEnd: number;
}

/** What the stores hold for a set of orders. */
export interface Found {
  orders: Array<{ id: string; status: string }>;
  payments: Array<{ orderId: string; paymentId: string; outcome: string }>;
  refunds: Array<{ orderId: string; paymentId: string }>;
  /** Workflow runs per order id, not counting placements rejected with nothing stored. */
  runs: Map<string, number>;
  /** Those rejected placements (each retried by its caller under the same key, in a new run). */
  rejectedRuns?: number;
}

/** An accepted create, and the payment accepted for it if any. */
export interface ExpectedOrder {
  orderId: string;
  paymentId: string | null;
}

export interface Verdict {
  paid: number;
  /** Placements rejected with nothing stored, whose callers' retries started the key's next run. */
  rejectedRuns: number;
  refunded: number;
  lost: number;
  doubled: number;
  /** One line per order lost or doubled, for the log. */
  problems: string[];
}

const PAID_STATES = new Set(['PAID', 'DELIVERED']);

/**
 * Lost: an accepted create with no order row or no workflow, or an accepted payment that is not the
 * order's one applied payment. Doubled: a second workflow run of an order, a second applied payment,
 * a second refund of an order.
 */
export function verify(expected: readonly ExpectedOrder[], found: Found): Verdict {
  const orders = new Map(found.orders.map((order) => [order.id, order.status]));
  const applied = new Map<string, string[]>();
  for (const payment of found.payments) {
    if (payment.outcome !== 'APPLIED') continue;
    applied.set(payment.orderId, [...(applied.get(payment.orderId) ?? []), payment.paymentId]);
  }
  const refunds = new Map<string, number>();
  for (const refund of found.refunds) refunds.set(refund.orderId, (refunds.get(refund.orderId) ?? 0) + 1);
  const problems: string[] = [];
  let lost = 0;
  let doubled = 0;
  let paid = 0;
  for (const { orderId, paymentId } of expected) {
    const status = orders.get(orderId);
    const runs = found.runs.get(orderId) ?? 0;
    const payments = applied.get(orderId) ?? [];
    if (status === undefined || runs === 0) {
      lost += 1;
      problems.push(`lost: order ${orderId} accepted, ${status === undefined ? 'no row' : 'no workflow'}`);
    } else if (paymentId !== null && !(PAID_STATES.has(status) && payments.includes(paymentId))) {
      lost += 1;
      problems.push(
        `lost: payment ${paymentId} of ${orderId} accepted, order ${status}, applied [${payments.join(', ')}]`,
      );
    }
    if (status !== undefined && PAID_STATES.has(status)) paid += 1;
    if (runs > 1) {
      doubled += runs - 1;
      problems.push(`doubled: ${runs} workflow runs for ${orderId}`);
    }
    if (payments.length > 1) {
      doubled += payments.length - 1;
      problems.push(`doubled: ${payments.length} payments applied to ${orderId}`);
    }
    if ((refunds.get(orderId) ?? 0) > 1) {
      doubled += (refunds.get(orderId) ?? 0) - 1;
      problems.push(`doubled: ${refunds.get(orderId)} refunds of ${orderId}`);
    }
  }
  const refunded = [...refunds.values()].reduce((sum, count) => sum + count, 0);
  return { paid, refunded, lost, doubled, rejectedRuns: found.rejectedRuns ?? 0, problems };
}

/** The orders the scenario's callers had accepted (creates sent in its window) and their payments. */
export function expectedOrders(events: readonly LoadEvent[], times: ScenarioTimes): ExpectedOrder[] {
  const payments = new Map<number, string>();
  for (const event of events) if (event.e === 'pay') payments.set(event.seq, event.paymentId);
  return events.flatMap((event) =>
    event.e === 'create' && event.sentAt >= times.start && event.sentAt < times.afterEnd
      ? [{ orderId: event.orderId, paymentId: payments.get(event.seq) ?? null }]
      : [],
  );
}

/**
 * Whether every order whose first create was sent in [from, to) is settled for its caller: paid
 * (payment accepted), or given up. Until then the scenario's numbers are not final.
 */
export function callersSettled(events: readonly LoadEvent[], from: number, to: number): boolean {
  const open = new Set<number>();
  for (const event of events) if (event.e === 'sent' && event.at >= from && event.at < to) open.add(event.seq);
  for (const event of events) {
    if (event.e === 'pay' || event.e === 'pay-gave-up' || event.e === 'create-gave-up') open.delete(event.seq);
  }
  return open.size === 0;
}

/** Nearest-rank percentile. */
export function percentile(samples: readonly number[], q: number): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

export interface WindowStats {
  /** Creates accepted per second, of those sent in the window. */
  createdPerSecond: number;
  /** p99 of create latency (first send to acceptance, retries included), ms. */
  createP99Ms: number | null;
}

type CreateEvent = Extract<LoadEvent, { e: 'create' }>;

const createsSent = (events: readonly LoadEvent[], from: number, to: number): CreateEvent[] =>
  events.filter((event): event is CreateEvent => event.e === 'create' && event.sentAt >= from && event.sentAt < to);

export function windowStats(events: readonly LoadEvent[], from: number, to: number): WindowStats {
  const creates = createsSent(events, from, to);
  const seconds = Math.max(0.001, (to - from) / 1000);
  return {
    createdPerSecond: Math.round((creates.length / seconds) * 10) / 10,
    createP99Ms: percentile(
      creates.map((event) => event.at - event.sentAt),
      0.99,
    ),
  };
}

/**
 * How long after the fault ended the callers were served normally again: from the end of the fault
 * to the first create sent after it from which on every create sent before `until` (the load runs
 * on while the scenario's orders settle) was accepted at its first attempt within `okLatencyMs`.
 * Null when that never happened.
 */
export function serviceRecoveredMs(
  events: readonly LoadEvent[],
  faultEnd: number,
  until: number,
  okLatencyMs: number,
): number | null {
  const after = createsSent(events, faultEnd, until).sort((a, b) => a.sentAt - b.sentAt);
  const sentLater = events.some((event) => event.e === 'sent' && event.at >= faultEnd && event.at < until);
  let recoveredFrom: number | null = null;
  for (const event of after) {
    const ok = event.attempts === 1 && event.at - event.sentAt <= okLatencyMs;
    if (!ok) recoveredFrom = null;
    else recoveredFrom ??= event.sentAt;
  }
  if (recoveredFrom === null || !sentLater) return null;
  return Math.max(0, recoveredFrom - faultEnd);
}

/** Callers' errors by kind, seen in the scenario's window (create and payment alike). */
export function errorsByKind(events: readonly LoadEvent[], times: ScenarioTimes): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const event of events) {
    if (event.at < times.start || event.at >= times.afterEnd) continue;
    const kind =
      event.e === 'create-error'
        ? `create ${event.kind}`
        : event.e === 'pay-error'
          ? `pay ${event.kind}`
          : event.e === 'create-gave-up' || event.e === 'pay-gave-up'
            ? event.e
            : undefined;
    if (kind !== undefined) counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

export interface ScenarioRow extends Verdict {
  name: string;
  created: number;
  errors: Record<string, number>;
  before: WindowStats;
  during: WindowStats;
  after: WindowStats;
  /** Until callers were served normally and every accepted payment was applied, from the fault's end. */
  recoveryMs: number | null;
  auditClean: boolean;
}

/** The later of the callers' recovery and the backlog's drain; null if either never came. */
export function recoveryMs(serviceMs: number | null, drainedAt: number | null, faultEnd: number): number | null {
  if (serviceMs === null || drainedAt === null) return null;
  return Math.max(serviceMs, drainedAt - faultEnd, 0);
}

const seconds = (ms: number | null): string => (ms === null ? '-' : `${(ms / 1000).toFixed(1)} s`);
const ms = (value: number | null): string => (value === null ? '-' : `${Math.round(value)}`);

/** The scenario table, one row each. */
export function formatTable(rows: readonly ScenarioRow[]): string {
  const header = [
    'scenario',
    'created',
    'paid',
    'refunded',
    'lost',
    'doubled',
    'errors',
    'rate/p99 during',
    'rate/p99 after',
    'recovery',
    'audit',
  ];
  const lines = rows.map((row) => [
    row.name,
    String(row.created),
    String(row.paid),
    String(row.refunded),
    String(row.lost),
    String(row.doubled),
    Object.entries(row.errors)
      .map(([kind, count]) => `${kind}×${count}`)
      .join(' ') || '-',
    `${row.during.createdPerSecond}/s ${ms(row.during.createP99Ms)} ms`,
    `${row.after.createdPerSecond}/s ${ms(row.after.createP99Ms)} ms`,
    seconds(row.recoveryMs),
    row.auditClean ? 'clean' : 'FAILED',
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => (line[i] ?? '').length)));
  const render = (cells: string[]): string => `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [render(header), render(widths.map((w) => '-'.repeat(w))), ...lines.map(render)].join('\n');
}

/** The run's last line. */
export function finalLine(rows: readonly ScenarioRow[]): string {
  const lost = rows.reduce((sum, row) => sum + row.lost, 0);
  const doubled = rows.reduce((sum, row) => sum + row.doubled, 0);
  return `hosts: ${rows.length} scenarios, lost ${lost}, doubled ${doubled}`;
}

/** A run passes when nothing was lost or doubled and every audit was clean. */
export function passed(rows: readonly ScenarioRow[]): boolean {
  return rows.every((row) => row.lost === 0 && row.doubled === 0 && row.auditClean);
}
