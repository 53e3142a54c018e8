import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import pg from 'pg';
import type { Subscription } from '@nats-io/nats-core';
import { createPaymentActivities } from '../src/activities/payments';
import { createPersistenceActivities } from '../src/activities/persistence';
import { createPlacementActivities } from '../src/activities/placement';
import { createProductActivities } from '../src/activities/products';
import { encodeJson } from '../src/nats/nest-transport';
import { orderWorkflowId, type OrderWorkflowInput } from '../src/orders/workflow-api';
import { startTestSystem, type TestSystem } from './support/system';

/**
 * A keyless create's placement deadline (the caller is told "nothing was kept" once it passes) is
 * set and read on one clock, the database's, and the statements that store the order and keep its
 * checkout refuse to commit after it: neither an attempt the workflow abandoned (a slow insert)
 * nor a worker whose clock is behind can keep an order after the caller was told nothing was kept.
 */

const PRODUCTS_SUBJECT = `validate_products.clock-${randomUUID().slice(0, 8)}`;
const CHECKOUT_SUBJECT = `create.payment.session.clock-${randomUUID().slice(0, 8)}`;
const CREATE_TIMEOUT_MS = 8_000;

let system: TestSystem;
const subscriptions: Subscription[] = [];
let placement: ReturnType<typeof createPlacementActivities>;

beforeAll(async () => {
  system = await startTestSystem({ ORDER_CREATE_TIMEOUT_MS: String(CREATE_TIMEOUT_MS) });
  // A products service and a payments service that answer at once.
  const serve = (subject: string, respond: (data: unknown) => unknown) => {
    subscriptions.push(
      system.nats.subscribe(subject, {
        callback: (_error, msg) => {
          const { id, data } = JSON.parse(Buffer.from(msg.data).toString('utf8')) as { id: string; data: unknown };
          msg.respond(encodeJson({ id, response: respond(data), isDisposed: true }));
        },
      }),
    );
  };
  serve(PRODUCTS_SUBJECT, (ids) => (ids as number[]).map((id) => ({ id, name: `Product ${id}`, price: 5 })));
  serve(CHECKOUT_SUBJECT, () => ({ url: 'https://checkout.example/s', sessionId: 'cs_clock', successUrl: 'x' }));
  await system.nats.flush();
  const products = createProductActivities({
    nats: system.nats,
    validateProductsSubject: PRODUCTS_SUBJECT,
    requestTimeoutMs: 2_000,
  });
  const payments = createPaymentActivities({
    nats: system.nats,
    createPaymentSessionSubject: CHECKOUT_SUBJECT,
    expirePaymentSessionSubject: system.config.subjects.expirePaymentSession,
    identifyPaymentsSubject: undefined,
    requestTimeoutMs: 2_000,
  });
  placement = createPlacementActivities({
    products,
    persistence: createPersistenceActivities({ orders: system.orders }),
    payments,
    orders: system.orders,
  });
});

/** Orders this file stores without a workflow. */
const storedHere = new Set<string>();

afterAll(async () => {
  jest.restoreAllMocks();
  subscriptions.forEach((sub) => sub.unsubscribe());
  // Orders stored here have no workflow: closed, as their workflow would have closed them, so the
  // run's audit does not report them as open orders without one.
  if (system) for (const orderId of storedHere) await system.orders.setStatus(orderId, 'CANCELLED');
  await system?.stop();
});

afterEach(() => {
  jest.restoreAllMocks();
});

/** The database's clock, epoch ms. */
async function databaseNow(): Promise<number> {
  const { rows } = await client().query<{ now: number }>(
    'SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now',
  );
  return rows[0]?.now as number;
}

let pgClient: pg.Client | undefined;
function client(): pg.Client {
  if (pgClient === undefined) throw new Error('no client');
  return pgClient;
}

beforeEach(async () => {
  pgClient = new pg.Client({ connectionString: system.config.databaseUrl });
  await pgClient.connect();
});

afterEach(async () => {
  await pgClient?.end();
  pgClient = undefined;
});

const items = [{ productId: 1, quantity: 2 }];

async function placementTimedOut(call: Promise<unknown>): Promise<void> {
  const error = await call.then(
    (answer) => new Error(`answered ${JSON.stringify(answer)} where PlacementTimedOut was expected`),
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  expect((error as ApplicationFailure).type).toBe('PlacementTimedOut');
}

/** Settles with the call, or after `ms` if it is still running (then the test fails on its answer). */
const settledWithin = (call: Promise<unknown>, ms: number): Promise<unknown> =>
  Promise.race([call.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, ms))]);

it('rolls back an insert still running when the deadline passes: the order is never stored', async () => {
  const orderId = randomUUID();
  // Another transaction holds inserts into orders back (as a slow or locked database would).
  await client().query('BEGIN');
  await client().query('LOCK TABLE orders IN SHARE MODE');
  const deadline = (await databaseNow()) + 1_000;
  const placing = placement.placeOrder({ orderId, currency: 'usd', items, deadline });
  await settledWithin(placing, 4_000);
  await client().query('COMMIT');
  await placementTimedOut(placing);
  expect(await system.orders.findOrder(orderId)).toBeNull();
});

it('reads the deadline on the database clock: a worker whose clock is behind stores nothing after it', async () => {
  const orderId = randomUUID();
  const deadline = (await databaseNow()) - 1;
  // This worker's clock is a minute behind the database's (and the gateway's).
  const now = Date.now.bind(Date);
  jest.spyOn(Date, 'now').mockImplementation(() => now() - 60_000);
  await placementTimedOut(placement.placeOrder({ orderId, currency: 'usd', items, deadline }));
  expect(await system.orders.findOrder(orderId)).toBeNull();

  const stored = randomUUID();
  storedHere.add(stored);
  const order = await system.orders.insertOrder({
    orderId: stored,
    currency: 'usd',
    items: [{ productId: 1, name: 'Product 1', priceCents: 500, quantity: 2 }],
  });
  await placementTimedOut(
    placement.openCheckout({
      orderId: stored,
      currency: 'usd',
      items: [{ productId: 1, name: 'Product 1', priceCents: 500, quantity: 2 }],
      paymentWindowEndsAt: Date.now() + 60_000,
      deadline,
    }),
  );
  expect(order.status).toBe('PENDING');
  expect(await system.orders.findPaymentSession(stored)).toBeNull();
});

it('keeps no checkout whose saving is still running when the deadline passes', async () => {
  const orderId = randomUUID();
  const lines = [{ productId: 1, name: 'Product 1', priceCents: 500, quantity: 2 }];
  storedHere.add(orderId);
  await system.orders.insertOrder({ orderId, currency: 'usd', items: lines });
  // Another transaction holds the order's row: saving the checkout waits behind it.
  await client().query('BEGIN');
  await client().query('SELECT id FROM orders WHERE id = $1 FOR UPDATE', [orderId]);
  const deadline = (await databaseNow()) + 1_000;
  const opening = placement.openCheckout({
    orderId,
    currency: 'usd',
    items: lines,
    paymentWindowEndsAt: Date.now() + 60_000,
    deadline,
  });
  await settledWithin(opening, 4_000);
  await client().query('COMMIT');
  await placementTimedOut(opening);
  expect(await system.orders.findPaymentSession(orderId)).toBeNull();
});

it('gives up waiting for another attempt of the order by its bound, not the pool’s statement timeout', async () => {
  const orderId = randomUUID();
  // An attempt of this order that never ends holds its placement lock.
  await client().query('BEGIN');
  await client().query("SELECT pg_advisory_xact_lock(hashtextextended('order-placement:' || $1, 0))", [orderId]);
  const deadline = (await databaseNow()) - 1;
  // Looking after the deadline waits 5 s for an attempt in flight to end (the pool allows 10).
  const started = Date.now();
  const looking = system.orders.insertOrderBefore(orderId, null, deadline).catch((error: unknown) => error);
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    looking,
    new Promise((resolve) => (timer = setTimeout(() => resolve('still waiting after 8 s'), 8_000))),
  ]);
  const waited = Date.now() - started;
  clearTimeout(timer);
  await client().query('ROLLBACK');
  expect(outcome).toMatchObject({ code: '55P03' });
  expect(waited).toBeGreaterThanOrEqual(4_500);
});

it('settles a placement that failed before its deadline: not yet, then what an abandoned attempt stored, or nothing', async () => {
  const stored = randomUUID();
  storedHere.add(stored);
  const nothing = randomUUID();
  const deadline = (await databaseNow()) + 500;
  // An attempt the workflow abandoned still stores its order before the deadline.
  await placement.placeOrder({ orderId: stored, currency: 'usd', items, deadline });
  // A deadline far ahead: retryably not yet (the workflow's durable retry asks again).
  const far = (await databaseNow()) + 60_000;
  const early = await placement.settlePlacement({ orderId: stored, deadline: far }).catch((error: unknown) => error);
  expect(early).toBeInstanceOf(ApplicationFailure);
  expect((early as ApplicationFailure).nonRetryable).toBe(false);
  // A near one is waited for, on the database's clock, so the caller is answered right after it.
  const settled = await placement.settlePlacement({ orderId: stored, deadline });
  expect(await databaseNow()).toBeGreaterThanOrEqual(deadline);
  expect(settled).toMatchObject({ id: stored, status: 'PENDING' });
  await expect(placement.settlePlacement({ orderId: nothing, deadline })).resolves.toBeNull();
  // Nothing is stored for that order after the deadline, whatever an attempt still tries.
  await placementTimedOut(placement.placeOrder({ orderId: nothing, currency: 'usd', items, deadline }));
  expect(await system.orders.findOrder(nothing)).toBeNull();
});

it('sets a keyless create’s deadline on the database clock, whatever the gateway’s clock says', async () => {
  const product = await system.nest.send<{ id: number }>('products.create', { name: 'Clock', price: 7 });
  const before = await databaseNow();
  // The gateway's clock is an hour ahead.
  const now = Date.now.bind(Date);
  jest.spyOn(Date, 'now').mockImplementation(() => now() + 3_600_000);
  const placed = await system.client.place([{ productId: product.id, quantity: 1 }]);
  jest.restoreAllMocks();
  const after = await databaseNow();
  const history = await system.temporal.workflow.getHandle(orderWorkflowId(placed.order.id)).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
  const input = JSON.parse(Buffer.from(payload as Uint8Array).toString('utf8')) as OrderWorkflowInput;
  const margin = Math.min(3_000, CREATE_TIMEOUT_MS / 4);
  const deadline = input.start.kind === 'place' ? input.start.deadline : null;
  expect(deadline?.at).toBeGreaterThanOrEqual(before + CREATE_TIMEOUT_MS - margin);
  expect(deadline?.at).toBeLessThanOrEqual(after + CREATE_TIMEOUT_MS - margin);
});
