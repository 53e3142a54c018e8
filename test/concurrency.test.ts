import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { z } from 'zod';
import { orderIdFor } from '../src/gateway/order-id';
import type { OrderWithItems } from '../src/orders/types';
import { eventually } from './support/eventually';
import { paymentEvent } from './support/orders-client';
import { startTestSystem, type TestSystem } from './support/system';

let system: TestSystem;
let product: { id: number };

beforeAll(async () => {
  system = await startTestSystem();
  product = await system.nest.send('products.create', { name: 'Teapot', price: 25.5 });
});

afterAll(async () => {
  await system?.stop();
});

const place = (extra: Record<string, unknown> = {}) =>
  system.client.place([{ productId: product.id, quantity: 1 }], extra);

it('makes one order and one workflow from 20 concurrent copies of a request', async () => {
  const idempotencyKey = randomUUID();
  const placed = await Promise.all(Array.from({ length: 20 }, () => place({ idempotencyKey })));
  const orderId = orderIdFor(idempotencyKey);
  expect(new Set(placed.map((copy) => copy.order.id))).toEqual(new Set([orderId]));
  expect(new Set(placed.map((copy) => copy.paymentSession.url)).size).toBe(1);

  const rows = await system.pool.oneFirst(
    sql.type(z.object({ count: z.number() }))`SELECT count(*)::int AS count FROM orders WHERE id = ${orderId}`,
  );
  expect(rows).toBe(1);
  const runs = [];
  for await (const run of system.temporal.workflow.list({ query: `WorkflowId="order-${orderId}"` })) runs.push(run);
  expect(runs).toHaveLength(1);
});

it('serialises a payment and a cancellation racing on one order into a state the lifecycle allows', async () => {
  const orders = await Promise.all(Array.from({ length: 8 }, () => place()));
  const payments = new Map(orders.map(({ order }) => [order.id, paymentEvent(order.id)]));
  await Promise.all(
    orders.map(async ({ order }) => {
      const [cancelled] = await Promise.allSettled([
        system.nest.send<OrderWithItems>('orders.change.status', { id: order.id, status: 'CANCELLED' }),
        system.nest.emit('payment.succeeded', payments.get(order.id)),
      ]);
      // The cancellation was accepted: PENDING -> CANCELLED, or PAID -> CANCELLED with a refund.
      expect(cancelled.status).toBe('fulfilled');
    }),
  );
  for (const { order } of orders) {
    const final = await eventually(async () => {
      const current = await system.orders.findOrder(order.id);
      expect((await system.orders.findPaymentIds(order.id)).length).toBe(1);
      return current as OrderWithItems;
    });
    expect(final.status).toBe('CANCELLED');
    // Either the payment came first (paid, then refunded) or the cancellation did (never paid).
    expect(final.stripeChargeId).toBe(final.paid ? payments.get(order.id)?.stripePaymentId : null);
    const outcomes = await system.pool.anyFirst(
      sql.type(z.object({ outcome: z.string() }))`SELECT outcome FROM payments WHERE order_id = ${order.id}`,
    );
    expect(outcomes).toEqual([final.paid ? 'APPLIED' : 'REFUND_REQUESTED']);
  }
});

it('applies a payment that arrives while its order is still being placed', async () => {
  const idempotencyKey = randomUUID();
  const orderId = orderIdFor(idempotencyKey);
  await system.stopPart('products');
  const creating = place({ idempotencyKey });

  // The order's workflow exists but cannot validate its products yet: nothing is stored.
  await eventually(() => system.temporal.workflow.getHandle(`order-${orderId}`).describe());
  expect(await system.orders.findOrder(orderId)).toBeNull();

  // The payment overtakes the order: the workflow keeps it until the order exists.
  const early = paymentEvent(orderId);
  await system.nest.emit('payment.succeeded', early);
  await system.startPart('products');

  expect((await creating).order.id).toBe(orderId);
  const paid = await eventually(async () => {
    const current = await system.orders.findOrder(orderId);
    expect(current?.status).toBe('PAID');
    return current as OrderWithItems;
  });
  expect(paid.stripeChargeId).toBe(early.stripePaymentId);
  expect((await place({ idempotencyKey })).order).toEqual(paid);
});
