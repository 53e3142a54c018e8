import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { z } from 'zod';
import { createOrdersRepository, type NewOrder } from '../src/db/orders-repository';
import type { DatabasePool } from '../src/db/pool';
import { countingPool } from './support/counting-pool';
import { eventually } from './support/eventually';
import { createOwnDatabase, type OwnDatabase } from './support/own-database';

// The workflow's writes are activities, which may run more than once: each must be idempotent.
// Orders written here have no workflow, so they live in a database of their own (the audit at
// the end of the test run would rightly report them).
let database: OwnDatabase;
let pool: DatabasePool;
const count = (table: 'orders' | 'order_items' | 'payments', orderId: string) =>
  pool.oneFirst(
    sql.type(z.object({ count: z.number() }))`
      SELECT count(*)::int AS count FROM ${sql.identifier([table])}
      WHERE ${sql.identifier([table === 'orders' ? 'id' : 'order_id'])} = ${orderId}`,
  );

beforeAll(async () => {
  database = await createOwnDatabase('orders_repository');
  ({ pool } = database);
});

afterAll(async () => {
  await database?.drop();
});

/** A new order of one line, 1.00 USD. */
const oneLineOrder = (orderId: string): NewOrder => ({
  orderId,
  currency: 'usd',
  items: [{ productId: 1, name: 'A', priceCents: 100, quantity: 1 }],
});

it('stores an order once however often the insert runs, with exact totals', async () => {
  const orders = createOrdersRepository(pool);
  const order = {
    orderId: randomUUID(),
    currency: 'usd',
    items: [
      { productId: 7, name: 'Cable', priceCents: 1_999, quantity: 3 },
      { productId: 'sku-9', name: 'Plug', priceCents: 10, quantity: 1 },
    ],
  };
  const first = await orders.insertOrder(order);
  const again = await orders.insertOrder(order);
  expect(again).toEqual(first);
  expect(first).toMatchObject({ totalAmount: 60.07, totalItems: 4, status: 'PENDING' });
  expect(first.OrderItems).toEqual([
    { productId: 7, name: 'Cable', price: 19.99, quantity: 3 },
    { productId: 'sku-9', name: 'Plug', price: 0.1, quantity: 1 },
  ]);
  expect(await count('orders', order.orderId)).toBe(1);
  expect(await count('order_items', order.orderId)).toBe(2);
});

it("stores a keyless create's order in one transaction of two statements, and finds it there again", async () => {
  const statements: string[] = [];
  const orders = createOrdersRepository(countingPool(pool, statements));
  const orderId = randomUUID();
  const deadline = (await orders.databaseNow()) + 60_000;
  statements.length = 0;
  const stored = await orders.insertOrderBefore(orderId, oneLineOrder(orderId), deadline);
  expect(stored).toMatchObject({ id: orderId, status: 'PENDING', totalAmount: 1 });
  // The time left with the statements' bound and the placement lock; the insert with its deadline check.
  expect(statements).toEqual(['one', 'one']);
  expect(await orders.insertOrderBefore(orderId, oneLineOrder(orderId), deadline)).toEqual(stored);
  expect(await count('order_items', orderId)).toBe(1);
  await orders.setStatus(orderId, 'CANCELLED');
});

it('answers, to an attempt that starts after the deadline, the order an earlier attempt stored before it', async () => {
  const orders = createOrdersRepository(pool);
  const orderId = randomUUID();
  const now = await orders.databaseNow();
  const stored = await orders.insertOrderBefore(orderId, oneLineOrder(orderId), now + 60_000);
  expect(stored).toMatchObject({ id: orderId });
  // The next attempt found time left before it asked the products service, none once it inserts.
  expect(await orders.insertOrderBefore(orderId, oneLineOrder(orderId), now - 1)).toEqual(stored);
  const never = randomUUID();
  expect(await orders.insertOrderBefore(never, oneLineOrder(never), now - 1)).toBeNull();
  expect(await count('orders', never)).toBe(0);
  await orders.setStatus(orderId, 'CANCELLED');
});

it('records a payment once and marks the order paid with that payment', async () => {
  const orders = createOrdersRepository(pool);
  const orderId = randomUUID();
  await orders.insertOrder(oneLineOrder(orderId));
  const payment = { orderId, stripePaymentId: `pi_${randomUUID()}`, receiptUrl: 'https://receipt' };
  const paid = await orders.recordPayment(payment, 'APPLIED');
  const again = await orders.recordPayment(payment, 'APPLIED');
  expect(again).toEqual(paid);
  expect(paid).toMatchObject({
    status: 'PAID',
    paid: true,
    stripeChargeId: payment.stripePaymentId,
    receiptUrl: 'https://receipt',
  });
  expect(await count('payments', orderId)).toBe(1);

  // A second, different payment never replaces the first on the order.
  const other = await orders.recordPayment({ ...payment, stripePaymentId: `pi_${randomUUID()}` }, 'REFUND_REQUESTED');
  expect(other.stripeChargeId).toBe(payment.stripePaymentId);
  expect(await count('payments', orderId)).toBe(2);
});

it('never pays a second order with a payment id recorded for another (one payment id pays one order)', async () => {
  const orders = createOrdersRepository(pool);
  const [first, second] = [randomUUID(), randomUUID()];
  for (const orderId of [first, second]) {
    await orders.insertOrder(oneLineOrder(orderId));
  }
  const payment = { orderId: first, stripePaymentId: `pi_${randomUUID()}`, receiptUrl: null };
  expect(await orders.recordPayment(payment, 'APPLIED')).toMatchObject({ status: 'PAID' });
  // Before the fix the second order's row became PAID with the first order's payment.
  expect(await orders.recordPayment({ ...payment, orderId: second }, 'APPLIED')).toMatchObject({
    status: 'PENDING',
    paid: false,
    stripeChargeId: null,
  });
  expect(await orders.findPayment(payment.stripePaymentId)).toEqual({
    orderId: first,
    outcome: 'APPLIED',
    detail: null,
  });
  expect(await count('payments', second)).toBe(0);
});

it('gives a product id back with the type it came as: "7" as a string, 7 as a number', async () => {
  const orders = createOrdersRepository(pool);
  const orderId = randomUUID();
  const stored = await orders.insertOrder({
    orderId,
    currency: 'usd',
    items: [
      { productId: '7', name: 'Numeric-looking string', priceCents: 100, quantity: 1 },
      { productId: 8, name: 'Integer', priceCents: 200, quantity: 1 },
    ],
  });
  expect(stored.OrderItems.map((item) => item.productId)).toEqual(['7', 8]);
  expect((await orders.findOrder(orderId))?.OrderItems.map((item) => item.productId)).toEqual(['7', 8]);
});

it('answers a page past the last one with an empty page, however large', async () => {
  const orders = createOrdersRepository(pool);
  const page = await orders.listOrders({ page: 1e300, limit: 10 });
  expect(page.data).toEqual([]);
  expect(page.meta).toMatchObject({ page: 1e300 });
});

it("never replaces an order's checkout: a second one saved answers the first, with its window", async () => {
  const orders = createOrdersRepository(pool);
  const orderId = randomUUID();
  await orders.insertOrder(oneLineOrder(orderId));
  const first = { url: 'https://checkout.example/first', sessionId: 'cs_first' };
  const endsAt = (await orders.databaseNow()) - 1_000;
  expect(await orders.savePaymentSession(orderId, first, endsAt)).toEqual(first);
  const second = { url: 'https://checkout.example/second', sessionId: 'cs_second' };
  expect(await orders.savePaymentSession(orderId, second, endsAt + 3_600_000)).toEqual(first);
  expect(await orders.savePaymentSessionBefore(orderId, second, endsAt + 3_600_000, endsAt + 60_000)).toEqual(first);
  expect(await orders.findPaymentSession(orderId)).toEqual(first);
  expect(await orders.findPaymentWindowEnd(orderId)).toBe(endsAt);
  await orders.setStatus(orderId, 'CANCELLED');
});

describe('claimEndedPaymentWindows', () => {
  const session = { url: 'https://checkout.example/session' };
  /** A PENDING order with a checkout whose window ends `endsIn` ms from now (database clock), or without one. */
  const order = async (endsIn: number | null): Promise<string> => {
    const orders = createOrdersRepository(pool);
    const orderId = randomUUID();
    await orders.insertOrder(oneLineOrder(orderId));
    if (endsIn !== null) await orders.savePaymentSession(orderId, session, (await orders.databaseNow()) + endsIn);
    return orderId;
  };

  it('claims the PENDING orders whose window has ended, once', async () => {
    const orders = createOrdersRepository(pool);
    const ended = await order(-1_000);
    const later = await order(60_000);
    const none = await order(null);
    const keptOpen = await order(-1_000);
    await orders.keepPaymentWindowOpen(keptOpen);
    const paid = await order(-1_000);
    await orders.recordPayment({ orderId: paid, stripePaymentId: `pi_${randomUUID()}`, receiptUrl: null }, 'APPLIED');
    const cancelled = await order(-1_000);
    await orders.setStatus(cancelled, 'CANCELLED');

    const claimed = await orders.claimEndedPaymentWindows(1_000, 60_000);
    expect(claimed).toContain(ended);
    for (const orderId of [later, none, keptOpen, paid, cancelled]) expect(claimed).not.toContain(orderId);
    expect(await orders.claimEndedPaymentWindows(1_000, 60_000)).not.toContain(ended);
  });

  it('claims an order again once resignalAfterMs has passed since its last claim', async () => {
    const orders = createOrdersRepository(pool);
    const orderId = await order(-1_000);
    const resignalAfterMs = 300;
    expect(await orders.claimEndedPaymentWindows(1_000, resignalAfterMs)).toContain(orderId);
    const claimedAt = await orders.databaseNow();
    expect(await orders.claimEndedPaymentWindows(1_000, resignalAfterMs)).not.toContain(orderId);
    await eventually(async () =>
      expect(await orders.claimEndedPaymentWindows(1_000, resignalAfterMs)).toContain(orderId),
    );
    expect((await orders.databaseNow()) - claimedAt).toBeGreaterThanOrEqual(resignalAfterMs);
  });

  it('never gives one order to two claims running at once', async () => {
    const orders = createOrdersRepository(pool);
    const ended: string[] = [];
    for (let i = 0; i < 40; i++) ended.push(await order(-1_000 - i));
    const claims = await Promise.all(Array.from({ length: 4 }, () => orders.claimEndedPaymentWindows(20, 60_000)));
    const claimed = claims.flat();
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed).toEqual(expect.arrayContaining(ended));
  });
});
