import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import pino from 'pino';
import { parseConfig } from '../src/config';
import { createOrdersRepository, type OrdersRepository } from '../src/db/orders-repository';
import type { DatabasePool } from '../src/db/pool';
import {
  paymentWindowsSignalled,
  signalPaymentWindowEnded,
  SIGNAL_CONCURRENCY,
  startPaymentWindowSweeper,
  SWEEP_BATCH,
  type PaymentWindowSweeper,
  type PaymentWindowSweeperDeps,
} from '../src/gateway/payment-window-sweeper';
import { createLogger } from '../src/logger';
import { orderWorkflowId } from '../src/orders/workflow-api';
import { connectTemporalClient } from '../src/temporal/connection';
import { eventually } from './support/eventually';
import { createOwnDatabase, type OwnDatabase } from './support/own-database';

// Orders written here have no OrderWorkflow, so they live in a database of their own (the audit at
// the end of the test run would rightly report them).
let database: OwnDatabase;
let pool: DatabasePool;
let orders: OrdersRepository;
let temporal: Client;
/** Stopped, and their orders cancelled (never claimed by a later test), after each test. */
const sweepers: PaymentWindowSweeper[] = [];
const created: string[] = [];
const probes: WorkflowHandle[] = [];

beforeAll(async () => {
  const config = parseConfig(process.env);
  // One at a time: the database is dropped by afterAll even when the connection fails.
  database = await createOwnDatabase('payment_window_sweeper');
  ({ pool } = database);
  temporal = await connectTemporalClient(config.temporal);
  orders = createOrdersRepository(pool);
});

afterEach(async () => {
  await Promise.all(sweepers.splice(0).map((sweeper) => sweeper.stop()));
  await Promise.all(probes.splice(0).map((probe) => probe.terminate('test over')));
  for (const orderId of created.splice(0)) await orders.setStatus(orderId, 'CANCELLED');
});

afterAll(async () => {
  await temporal?.connection.close();
  await database?.drop();
});

/** A PENDING order whose payment window ends `endsIn` ms from now on the database's clock. */
async function order(endsIn = -1_000): Promise<string> {
  const orderId = randomUUID();
  await orders.insertOrder({
    orderId,
    currency: 'usd',
    items: [{ productId: 1, name: 'A', priceCents: 100, quantity: 1 }],
  });
  await orders.savePaymentSession(orderId, { url: 'https://checkout.example' }, (await orders.databaseNow()) + endsIn);
  created.push(orderId);
  return orderId;
}

/** The real repository, recording every order id it hands out. */
function recordingOrders(claimed: string[]): PaymentWindowSweeperDeps['orders'] {
  return {
    async claimEndedPaymentWindows(limit, resignalAfterMs) {
      const orderIds = await orders.claimEndedPaymentWindows(limit, resignalAfterMs);
      claimed.push(...orderIds);
      return orderIds;
    },
  };
}

/** A logger whose warn and error lines the test reads. */
function capturedLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

function start(deps: Omit<PaymentWindowSweeperDeps, 'logger'> & { logger?: PaymentWindowSweeperDeps['logger'] }) {
  const sweeper = startPaymentWindowSweeper({ logger: createLogger('test', 'silent'), ...deps });
  sweepers.push(sweeper);
  return sweeper;
}

async function counted(outcome: 'signalled' | 'no_workflow' | 'failed'): Promise<number> {
  const { values } = await paymentWindowsSignalled.get();
  return values.find((value) => value.labels.outcome === outcome)?.value ?? 0;
}

const deferred = (): { promise: Promise<void>; resolve: () => void } => {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
};

it('signals the workflow of each order whose payment window has ended, and counts the orders gone without one', async () => {
  // A workflow no worker runs: the signals it receives are kept in its history.
  const withWorkflow = await order();
  const probe = await temporal.workflow.start('PaymentWindowSweeperProbe', {
    workflowId: orderWorkflowId(withWorkflow),
    taskQueue: `payment-window-probe-${randomUUID()}`,
    args: [],
  });
  probes.push(probe);
  const withoutWorkflow = await order();
  const gone = await order();
  const later = await order(60_000);
  const before = { signalled: await counted('signalled'), noWorkflow: await counted('no_workflow') };
  const claimed: string[] = [];
  const signalled: string[] = [];
  const signal = signalPaymentWindowEnded({
    temporal,
    // Both orders are gone by the time they are signalled (deleted, or no longer PENDING): a PENDING
    // one would be started again from PostgreSQL (test/orders-outages.test.ts), an OrderWorkflow
    // whose order this test's own database holds, which the run's audit would not find.
    orders: { findOrder: () => Promise.resolve(null) },
    taskQueue: `payment-window-resume-${randomUUID()}`,
    settings: parseConfig(process.env).orders,
  });
  const { logger, lines } = capturedLogger();

  // Its first sweep starts at once; the next (and any resignal) is long after this test.
  const sweeper = start({
    orders: recordingOrders(claimed),
    signal: (orderId) => {
      signalled.push(orderId);
      return signal(orderId);
    },
    intervalMs: 10_000,
    logger,
  });
  await eventually(async () => {
    const { events } = await probe.fetchHistory();
    const signals = (events ?? []).filter(
      (event) => event.workflowExecutionSignaledEventAttributes?.signalName === 'paymentWindowEnded',
    );
    expect(signals).toHaveLength(1);
  });
  await eventually(async () =>
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 40, orderId: gone, msg: expect.stringMatching(/no running workflow/) }),
    ),
  );
  expect(lines).toContainEqual(
    expect.objectContaining({ level: 40, orderId: withoutWorkflow, msg: expect.stringMatching(/no running workflow/) }),
  );
  await sweeper.stop();

  expect([...claimed].sort()).toEqual([withWorkflow, withoutWorkflow, gone].sort());
  expect([...signalled].sort()).toEqual([...claimed].sort());
  expect(claimed).not.toContain(later);
  expect((await counted('signalled')) - before.signalled).toBe(1);
  expect((await counted('no_workflow')) - before.noWorkflow).toBe(2);
});

it('counts a failed signal, keeps sweeping, and signals that order again after resignalAfterMs', async () => {
  const failing = await order();
  const attempts: Array<{ orderId: string; at: number }> = [];
  const before = await counted('failed');
  const { logger, lines } = capturedLogger();
  const intervalMs = 50;

  start({
    orders: recordingOrders([]),
    signal: (orderId) => {
      attempts.push({ orderId, at: Date.now() });
      const tries = attempts.filter((attempt) => attempt.orderId === orderId).length;
      return tries === 1 ? Promise.reject(new Error('14 UNAVAILABLE: Temporal is away')) : Promise.resolve();
    },
    intervalMs,
    logger,
  });
  await eventually(async () => expect(attempts.filter((attempt) => attempt.orderId === failing)).toHaveLength(2));
  const [first, second] = attempts.filter((attempt) => attempt.orderId === failing);
  // Claimed again only once 10 intervals have passed on the database's clock (the same host's).
  expect(second!.at - first!.at).toBeGreaterThanOrEqual(10 * intervalMs - 20);
  expect((await counted('failed')) - before).toBe(1);
  expect(lines).toContainEqual(
    expect.objectContaining({
      level: 50,
      orderIds: [failing],
      err: expect.objectContaining({ message: expect.stringMatching(/UNAVAILABLE/) }),
    }),
  );
});

it('keeps sweeping after a claim fails (the database away)', async () => {
  const orderId = await order();
  const signalled: string[] = [];
  const { logger, lines } = capturedLogger();
  let claims = 0;

  start({
    orders: {
      async claimEndedPaymentWindows(limit, resignalAfterMs) {
        claims += 1;
        if (claims === 1) throw new Error('connection refused');
        return orders.claimEndedPaymentWindows(limit, resignalAfterMs);
      },
    },
    signal: async (id) => {
      signalled.push(id);
    },
    intervalMs: 50,
    logger,
  });
  await eventually(async () => expect(signalled).toContain(orderId));
  expect(lines).toContainEqual(
    expect.objectContaining({ level: 50, err: expect.objectContaining({ message: 'connection refused' }) }),
  );
});

it('claims batch after batch while they come back full, and signals a few orders at a time', async () => {
  const batches = [SWEEP_BATCH, SWEEP_BATCH, 3].map((size) => Array.from({ length: size }, () => randomUUID()));
  const expected = batches.flat();
  const limits: number[] = [];
  const signalled: string[] = [];
  let inFlight = 0;
  let most = 0;

  start({
    orders: {
      async claimEndedPaymentWindows(limit) {
        limits.push(limit);
        return batches.shift() ?? [];
      },
    },
    signal: async (orderId) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise(setImmediate);
      inFlight -= 1;
      signalled.push(orderId);
    },
    // One sweep in this test: the next is long after it.
    intervalMs: 60_000,
  });
  await eventually(async () => expect(signalled).toHaveLength(expected.length));
  expect([...signalled].sort()).toEqual([...expected].sort());
  expect(limits).toEqual([SWEEP_BATCH, SWEEP_BATCH, SWEEP_BATCH]);
  expect(most).toBe(SIGNAL_CONCURRENCY);
});

it('claims no more in a sweep once a signal has failed', async () => {
  const batches = [SWEEP_BATCH, SWEEP_BATCH].map((size) => Array.from({ length: size }, () => randomUUID()));
  const first = [...batches[0]!];
  const attempted: string[] = [];
  let claims = 0;

  const sweeper = start({
    orders: {
      async claimEndedPaymentWindows() {
        claims += 1;
        return batches.shift() ?? [];
      },
    },
    signal: async (orderId) => {
      attempted.push(orderId);
      if (orderId === first[0]) throw new Error('deadline exceeded');
    },
    intervalMs: 60_000,
  });
  await eventually(async () => expect(attempted).toHaveLength(SWEEP_BATCH));
  await sweeper.stop();
  // The rest of its batch is still tried; the next batch waits for the next sweep.
  expect([...attempted].sort()).toEqual([...first].sort());
  expect(claims).toBe(1);
});

it('stops sweeping, and stop() resolves once the sweep in flight has finished', async () => {
  const orderId = await order();
  const inSignal = deferred();
  const release = deferred();
  const events: string[] = [];
  let claims = 0;

  const sweeper = start({
    orders: {
      async claimEndedPaymentWindows(limit, resignalAfterMs) {
        claims += 1;
        return orders.claimEndedPaymentWindows(limit, resignalAfterMs);
      },
    },
    signal: async (id) => {
      if (id !== orderId) return;
      inSignal.resolve();
      await release.promise;
      events.push('signalled');
    },
    intervalMs: 50,
  });
  await inSignal.promise;
  const stopped = sweeper.stop().then(() => events.push('stopped'));
  await new Promise(setImmediate);
  expect(events).toEqual([]);
  release.resolve();
  await stopped;
  expect(events).toEqual(['signalled', 'stopped']);

  // Nothing to wait for: no sweep may start in a few intervals.
  const claimsAtStop = claims;
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(claims).toBe(claimsAtStop);
});

it('does not sweep at all with an interval of 0', async () => {
  let claims = 0;
  const sweeper = start({
    orders: {
      async claimEndedPaymentWindows() {
        claims += 1;
        return [];
      },
    },
    signal: () => Promise.resolve(),
    intervalMs: 0,
  });
  await sweeper.stop();
  expect(claims).toBe(0);
});
