import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import type { NatsConnection } from '@nats-io/nats-core';
import { OPEN_LOOP_CAP_SECONDS, type SystemId } from './flags';
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
  /** Requests in flight: the callers of a closed loop; the most seen at once in the open-loop and delayed modes. */
  inFlight: number;
  attempted: number;
  succeeded: number;
  wallMs: number;
  /** Successes per second of wall time. */
  perSecond: number;
  /** From each request's send; in the open loop, from the moment it was scheduled to be sent. */
  latencyMs: LatencySummary;
  errors: Record<string, number>;
  /** Creates sent at a fixed rate (`--arrival-rate`), whatever is in flight. */
  openLoop?: OpenLoopStats;
  /** Payments sent a fixed delay after their order was created (`--payment-delay`). */
  delayedPayments?: DelayedPaymentStats;
}

/** How creates are sent: C callers each waiting for its answer, or R a second on a schedule. */
export type CreateLoad = { kind: 'closed'; concurrency: number } | { kind: 'open'; perSecond: number };

export interface OpenLoopStats {
  targetPerSecond: number;
  /** Sends per second the generator achieved, first send to last. */
  sentPerSecond: number;
  /** Creates in flight at most: a send that finds this many waits for one to finish (the wait counts in its latency). */
  inFlightCap: number;
  /** Sends that waited at the cap. */
  capHits: number;
  /** How late sends left, behind their schedule (the generator's own lag, cap waits included). */
  sendLagMs: { p50: number | null; p99: number | null; max: number | null };
  /** Create latency from the actual send, beside `latencyMs` from the schedule: the difference is queueing the closed loop would hide. */
  latencyFromSendMs: LatencySummary;
}

export interface DelayedPaymentStats {
  delayMs: number;
  /** Most orders created and not yet PAID (nor given up) at one time. */
  peakPending: number;
}

type Progress = (line: string) => void;

/** Request bodies of `orders.create`: 1 to 3 lines of products 1..8, quantities 1 to 3, a unique key. */
export class OrderFactory {
  private sequence = 0;

  constructor(
    private readonly runId: string,
    /** The bench's creates carry no key (body()), as the original service's NestJS clients send them. */
    private readonly keyless = false,
  ) {}

  next(system: SystemId): { items: Array<{ productId: number; quantity: number }>; idempotencyKey: string } {
    this.sequence += 1;
    const ids = [1, 2, 3, 4, 5, 6, 7, 8].sort(() => Math.random() - 0.5).slice(0, 1 + Math.floor(Math.random() * 3));
    return {
      items: ids.map((productId) => ({ productId, quantity: 1 + Math.floor(Math.random() * 3) })),
      idempotencyKey: `bench-${this.runId}-${system}-${this.sequence}`,
    };
  }

  /** The next create the bench sends: next(), without its key in a keyless run. */
  body(system: SystemId): { items: Array<{ productId: number; quantity: number }>; idempotencyKey?: string } {
    const { idempotencyKey, ...keyless } = this.next(system);
    return this.keyless ? keyless : { ...keyless, idempotencyKey };
  }
}

export interface LoadContext {
  nats: NatsConnection;
  target: Target;
  orders: OrderFactory;
  poller: PaidPoller;
  progress: Progress;
  runId: string;
}

/** `count` creates with `concurrency` in flight; returns the new order ids. */
export function createPhase(
  ctx: LoadContext,
  count: number,
  concurrency: number,
): Promise<{ result: PhaseResult; orderIds: string[] }> {
  return sendCreates(ctx, count, { kind: 'closed', concurrency });
}

/**
 * `count` creates, closed loop or open loop; `onCreated` sees each new order as its answer arrives.
 * The open loop sends create i at start + i/R seconds whether or not earlier ones have answered (up
 * to OPEN_LOOP_CAP_SECONDS × R in flight), and measures each latency from that scheduled moment, so
 * a system that falls behind shows it in its latencies instead of slowing the senders down
 * (coordinated omission).
 */
export async function sendCreates(
  ctx: LoadContext,
  count: number,
  load: CreateLoad,
  onCreated?: (orderId: string) => void,
): Promise<{ result: PhaseResult; orderIds: string[] }> {
  const latencies: number[] = [];
  const errors = new ErrorTally();
  const orderIds: string[] = [];
  const started = performance.now();
  const label = load.kind === 'closed' ? `@${load.concurrency}` : `at ${load.perSecond}/s`;
  const ticker = progressTicker(
    ctx.progress,
    `${ctx.target.system} create ${label}`,
    count,
    () => orderIds.length,
    errors,
  );
  const record = (outcome: CreateOutcome): void => {
    if (outcome.ok) {
      latencies.push(outcome.ms);
      orderIds.push(outcome.orderId);
      onCreated?.(outcome.orderId);
    } else errors.add(outcome.kind);
  };
  if (load.kind === 'closed') {
    let next = 0;
    await runWorkers(load.concurrency, async () => {
      while (next < count) {
        next += 1;
        record(await createOne(ctx));
      }
    });
    ticker.stop();
    const wallMs = performance.now() - started;
    return { result: phaseResult('create', load.concurrency, count, latencies, wallMs, errors), orderIds };
  }

  const interval = 1000 / load.perSecond;
  const cap = Math.max(1, Math.ceil(load.perSecond * OPEN_LOOP_CAP_SECONDS));
  const slots = new Semaphore(cap);
  const lags: number[] = [];
  const fromSend: number[] = [];
  const requests = new Set<Promise<void>>();
  let inFlight = 0;
  let maxInFlight = 0;
  let capHits = 0;
  let firstSend = 0;
  let lastSend = 0;
  for (let index = 0; index < count; index += 1) {
    const scheduled = started + index * interval;
    const wait = scheduled - performance.now();
    if (wait > 0.5) await delay(wait);
    if (!slots.tryAcquire()) {
      capHits += 1;
      await slots.acquire();
    }
    const sentAt = performance.now();
    if (index === 0) firstSend = sentAt;
    lastSend = sentAt;
    lags.push(sentAt - scheduled);
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const request = createOne(ctx, scheduled).then((outcome) => {
      inFlight -= 1;
      slots.release();
      if (outcome.ok) fromSend.push(outcome.sendMs);
      record(outcome);
    });
    requests.add(request);
    void request.finally(() => requests.delete(request));
  }
  await Promise.all([...requests]);
  ticker.stop();
  const wallMs = performance.now() - started;
  const lag = summarize(lags);
  return {
    result: {
      ...phaseResult('create', maxInFlight, count, latencies, wallMs, errors),
      openLoop: {
        targetPerSecond: load.perSecond,
        sentPerSecond: round(count > 1 && lastSend > firstSend ? ((count - 1) * 1000) / (lastSend - firstSend) : 0),
        inFlightCap: cap,
        capHits,
        sendLagMs: { p50: lag.p50, p99: lag.p99, max: lag.max },
        latencyFromSendMs: summarize(fromSend),
      },
    },
    orderIds,
  };
}

/**
 * Creates `count` orders (closed or open loop) and pays each one `delayMs` after its create was
 * answered, while later orders are still being created: the payments overlap the creates, and as
 * in production many orders wait for their payment at once (more than a worker's cache, for a long
 * enough delay). Payment→PAID latency is measured from each payment's publish.
 */
export async function createAndPayPhase(
  ctx: LoadContext,
  count: number,
  load: CreateLoad,
  delayMs: number,
): Promise<{ create: PhaseResult; pay: PhaseResult; orderIds: string[]; paidIds: string[]; wallMs: number }> {
  const latencies: number[] = [];
  const errors = new ErrorTally();
  const paidIds: string[] = [];
  const payments = new Set<Promise<void>>();
  let pending = 0;
  let peakPending = 0;
  let paying = 0;
  let peakPaying = 0;
  let sequence = 0;
  let firstPayment: number | undefined;
  let lastPaid: number | undefined;
  const started = performance.now();
  const ticker = progressTicker(
    ctx.progress,
    `${ctx.target.system} pay ${delayMs / 1000} s after create`,
    count,
    () => paidIds.length,
    errors,
    () => `, pending ${pending}`,
  );
  const onCreated = (orderId: string): void => {
    pending += 1;
    peakPending = Math.max(peakPending, pending);
    sequence += 1;
    const number = sequence;
    const payment = delay(delayMs).then(async () => {
      paying += 1;
      peakPaying = Math.max(peakPaying, paying);
      firstPayment ??= performance.now();
      const ms = await payOne(ctx, orderId, number);
      paying -= 1;
      pending -= 1;
      lastPaid = performance.now();
      if (ms === null) errors.add('timeout');
      else {
        latencies.push(ms);
        paidIds.push(orderId);
      }
    });
    payments.add(payment);
    void payment.finally(() => payments.delete(payment));
  };
  const created = await sendCreates(ctx, count, load, onCreated);
  await Promise.all([...payments]);
  ticker.stop();
  const wallMs = performance.now() - started;
  const payWallMs = firstPayment !== undefined && lastPaid !== undefined ? lastPaid - firstPayment : 0;
  return {
    create: created.result,
    pay: {
      ...phaseResult('pay', peakPaying, created.orderIds.length, latencies, payWallMs, errors),
      delayedPayments: { delayMs, peakPending },
    },
    orderIds: created.orderIds,
    paidIds,
    wallMs: round(wallMs),
  };
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
  /** Orders between "create sent" and "seen PAID" at most; null with a payment delay (none then). */
  window: number | null;
  /** Each payment sent this long after its create was answered (`--payment-delay`); null: at once. */
  paymentDelayMs: number | null;
  /** Most orders created and not yet PAID at one time. */
  peakPending: number;
  wallMs: number;
  create: PhaseResult;
  pay: PhaseResult;
}

/**
 * The memory run: `count` orders created by `concurrency` callers and paid without waiting for each
 * one; at most `window` orders are between "create sent" and "seen PAID" at any time. With a
 * payment delay, each payment leaves `paymentDelayMs` after its create was answered and there is no
 * window: the orders waiting for their payment are as many as the create rate × the delay.
 */
export async function memoryRun(
  ctx: LoadContext,
  count: number,
  concurrency: number,
  window: number | null,
  counters: MemoryCounters,
  paymentDelayMs: number | null = null,
): Promise<MemoryRunResult> {
  const createLatencies: number[] = [];
  const paidLatencies: number[] = [];
  const createErrors = new ErrorTally();
  const payErrors = new ErrorTally();
  const slots = new Semaphore(window ?? count);
  const payments = new Set<Promise<void>>();
  let pending = 0;
  let peakPending = 0;
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
      pending += 1;
      peakPending = Math.max(peakPending, pending);
      const paid = async (): Promise<number | null> => {
        if (paymentDelayMs !== null) await delay(paymentDelayMs);
        return payOne(ctx, outcome.orderId, sequence);
      };
      const payment = paid().then((ms) => {
        slots.release();
        pending -= 1;
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
    paymentDelayMs,
    peakPending,
    wallMs: round(wallMs),
    create: phaseResult('create', concurrency, count, createLatencies, wallMs, createErrors),
    pay: phaseResult('pay', window ?? peakPending, counters.created, paidLatencies, wallMs, payErrors),
  };
}

type CreateOutcome = { ok: true; orderId: string; ms: number; sendMs: number } | { ok: false; kind: string };

/** One create; `ms` from `scheduledAt` when given (the open loop's schedule), `sendMs` from the send. */
async function createOne(ctx: LoadContext, scheduledAt?: number): Promise<CreateOutcome> {
  const body = ctx.orders.body(ctx.target.system);
  const started = performance.now();
  const outcome = await nestRequest<{ order?: { id?: unknown } }>(
    ctx.nats,
    ctx.target.createSubject,
    body,
    DEADLINE_MS,
  );
  const ended = performance.now();
  if (!outcome.ok) return { ok: false, kind: outcome.kind };
  const orderId = outcome.value?.order?.id;
  if (typeof orderId !== 'string') return { ok: false, kind: 'bad-reply' };
  return { ok: true, orderId, ms: ended - (scheduledAt ?? started), sendMs: ended - started };
}

/** Publishes the order's payment as a NestJS peer does and waits for PAID; the latency, or null on timeout. */
async function payOne(ctx: LoadContext, orderId: string, sequence: number): Promise<number | null> {
  const started = performance.now();
  const paid = ctx.poller.waitPaid(orderId, DEADLINE_MS);
  publishEvent(ctx.nats, ctx.target.paymentSubject, {
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

  tryAcquire(): boolean {
    if (this.free === 0) return false;
    this.free -= 1;
    return true;
  }

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
