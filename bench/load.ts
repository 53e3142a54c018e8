import { performance } from 'node:perf_hooks';
import type { NatsConnection } from 'nats';
import type { SystemId } from './flags';
import type { PaidPoller } from './paid-poller';
import { ErrorTally, round, summarize, type LatencySummary } from './stats';
import { nestRequest, publishEvent } from './wire';

/**
 * The load: C NestJS-format callers on one NATS connection (as a NestJS gateway serving C HTTP
 * clients would be), creating orders and publishing their payments, every latency recorded.
 */

/** A create that gets no answer, or a payment whose order is not PAID, within this counts as a timeout. */
export const DEADLINE_MS = 30_000;

export interface Target {
  system: SystemId;
  createSubject: string;
  paymentSubject: string;
}

export interface PhaseResult {
  phase: 'create' | 'pay';
  inFlight: number;
  attempted: number;
  succeeded: number;
  wallMs: number;
  /** Successes per second of wall time. */
  perSecond: number;
  latencyMs: LatencySummary;
  errors: Record<string, number>;
}

type Progress = (line: string) => void;

/** Request bodies of `orders.create`: 1 to 3 lines of products 1..8, quantities 1 to 3, a unique key. */
export class OrderFactory {
  private sequence = 0;

  constructor(private readonly runId: string) {}

  next(system: SystemId): { items: Array<{ productId: number; quantity: number }>; idempotencyKey: string } {
    this.sequence += 1;
    const ids = [1, 2, 3, 4, 5, 6, 7, 8].sort(() => Math.random() - 0.5).slice(0, 1 + Math.floor(Math.random() * 3));
    return {
      items: ids.map((productId) => ({ productId, quantity: 1 + Math.floor(Math.random() * 3) })),
      idempotencyKey: `bench-${this.runId}-${system}-${this.sequence}`,
    };
  }
}

export interface LoadContext {
  nc: NatsConnection;
  target: Target;
  orders: OrderFactory;
  poller: PaidPoller;
  progress: Progress;
  runId: string;
}

/** `count` creates with `concurrency` in flight; returns the new order ids. */
export async function createPhase(
  ctx: LoadContext,
  count: number,
  concurrency: number,
): Promise<{ result: PhaseResult; orderIds: string[] }> {
  const latencies: number[] = [];
  const errors = new ErrorTally();
  const orderIds: string[] = [];
  let next = 0;
  const started = performance.now();
  const ticker = progressTicker(
    ctx.progress,
    `${ctx.target.system} create @${concurrency}`,
    count,
    () => orderIds.length,
    errors,
  );
  await runWorkers(concurrency, async () => {
    while (next < count) {
      next += 1;
      const outcome = await createOne(ctx);
      if (outcome.ok) {
        latencies.push(outcome.ms);
        orderIds.push(outcome.orderId);
      } else errors.add(outcome.kind);
    }
  });
  ticker.stop();
  const wallMs = performance.now() - started;
  return { result: phaseResult('create', concurrency, count, latencies, wallMs, errors), orderIds };
}

/** Pays `orderIds` with `concurrency` publishers, each waiting until its order is PAID before the next. */
export async function payPhase(
  ctx: LoadContext,
  orderIds: readonly string[],
  concurrency: number,
): Promise<{ result: PhaseResult; paidIds: string[] }> {
  const latencies: number[] = [];
  const errors = new ErrorTally();
  const paidIds: string[] = [];
  let next = 0;
  const started = performance.now();
  const ticker = progressTicker(
    ctx.progress,
    `${ctx.target.system} pay @${concurrency}`,
    orderIds.length,
    () => paidIds.length,
    errors,
  );
  await runWorkers(concurrency, async () => {
    while (next < orderIds.length) {
      const orderId = orderIds[next] as string;
      next += 1;
      const ms = await payOne(ctx, orderId, next);
      if (ms === null) errors.add('timeout');
      else {
        latencies.push(ms);
        paidIds.push(orderId);
      }
    }
  });
  ticker.stop();
  const wallMs = performance.now() - started;
  return { result: phaseResult('pay', concurrency, orderIds.length, latencies, wallMs, errors), paidIds };
}

export interface MemoryCounters {
  created: number;
  paid: number;
}

export interface MemoryRunResult {
  orders: number;
  concurrency: number;
  window: number;
  wallMs: number;
  create: PhaseResult;
  pay: PhaseResult;
}

/**
 * The memory run: `count` orders created by `concurrency` callers and paid without waiting for each
 * one; at most `window` orders are between "create sent" and "seen PAID" at any time.
 */
export async function memoryRun(
  ctx: LoadContext,
  count: number,
  concurrency: number,
  window: number,
  counters: MemoryCounters,
): Promise<MemoryRunResult> {
  const createLatencies: number[] = [];
  const paidLatencies: number[] = [];
  const createErrors = new ErrorTally();
  const payErrors = new ErrorTally();
  const slots = new Semaphore(window);
  const payments = new Set<Promise<void>>();
  let next = 0;
  const started = performance.now();
  const ticker = progressTicker(
    ctx.progress,
    'memory run',
    count,
    () => counters.paid,
    payErrors,
    () => `, created ${counters.created}`,
  );
  await runWorkers(concurrency, async () => {
    while (next < count) {
      next += 1;
      const sequence = next;
      await slots.acquire();
      const outcome = await createOne(ctx);
      if (!outcome.ok) {
        createErrors.add(outcome.kind);
        slots.release();
        continue;
      }
      counters.created += 1;
      createLatencies.push(outcome.ms);
      const payment = payOne(ctx, outcome.orderId, sequence).then((ms) => {
        slots.release();
        if (ms === null) payErrors.add('timeout');
        else {
          counters.paid += 1;
          paidLatencies.push(ms);
        }
      });
      payments.add(payment);
      void payment.finally(() => payments.delete(payment));
    }
  });
  await Promise.all([...payments]);
  ticker.stop();
  const wallMs = performance.now() - started;
  return {
    orders: count,
    concurrency,
    window,
    wallMs: round(wallMs),
    create: phaseResult('create', concurrency, count, createLatencies, wallMs, createErrors),
    pay: phaseResult('pay', window, counters.created, paidLatencies, wallMs, payErrors),
  };
}

async function createOne(
  ctx: LoadContext,
): Promise<{ ok: true; orderId: string; ms: number } | { ok: false; kind: string }> {
  const body = ctx.orders.next(ctx.target.system);
  const started = performance.now();
  const outcome = await nestRequest<{ order?: { id?: unknown } }>(ctx.nc, ctx.target.createSubject, body, DEADLINE_MS);
  const ms = performance.now() - started;
  if (!outcome.ok) return { ok: false, kind: outcome.kind };
  const orderId = outcome.value?.order?.id;
  if (typeof orderId !== 'string') return { ok: false, kind: 'bad-reply' };
  return { ok: true, orderId, ms };
}

/** Publishes the order's payment as a NestJS peer does and waits for PAID; the latency, or null on timeout. */
async function payOne(ctx: LoadContext, orderId: string, sequence: number): Promise<number | null> {
  const started = performance.now();
  const paid = ctx.poller.waitPaid(orderId, DEADLINE_MS);
  publishEvent(ctx.nc, ctx.target.paymentSubject, {
    stripePaymentId: `pi_bench_${ctx.runId}_${ctx.target.system}_${sequence}_${orderId.slice(0, 8)}`,
    orderId,
    receiptUrl: `https://example.test/r/${sequence}`,
  });
  const paidAt = await paid;
  return paidAt === null ? null : paidAt - started;
}

function phaseResult(
  phase: 'create' | 'pay',
  inFlight: number,
  attempted: number,
  latencies: number[],
  wallMs: number,
  errors: ErrorTally,
): PhaseResult {
  return {
    phase,
    inFlight,
    attempted,
    succeeded: latencies.length,
    wallMs: round(wallMs),
    perSecond: round(wallMs > 0 ? (latencies.length * 1000) / wallMs : 0),
    latencyMs: summarize(latencies),
    errors: errors.counts,
  };
}

async function runWorkers(count: number, work: () => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: count }, () => work()));
}

function progressTicker(
  progress: Progress,
  label: string,
  total: number,
  done: () => number,
  errors: ErrorTally,
  extra: () => string = () => '',
) {
  const started = performance.now();
  const timer = setInterval(() => {
    const seconds = (performance.now() - started) / 1000;
    progress(`${label}: ${done()}/${total} (${(done() / seconds).toFixed(1)}/s)${extra()}, errors ${errors.total()}`);
  }, 5_000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

class Semaphore {
  private readonly queue: Array<() => void> = [];

  constructor(private free: number) {}

  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free -= 1;
      return;
    }
    await new Promise<void>((resolve) => this.queue.push(resolve));
  }

  release(): void {
    const waiter = this.queue.shift();
    if (waiter) waiter();
    else this.free += 1;
  }
}
