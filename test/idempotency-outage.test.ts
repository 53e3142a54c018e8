import { randomUUID } from 'node:crypto';
import { orderIdFor } from '../src/gateway/order-id';
import { createLogger } from '../src/logger';
import type { OrderWithItems } from '../src/orders/types';
import { createStripeClient } from '../src/payments/stripe-client';
import { startPaymentsService, type PaymentsService } from '../src/payments/service';
import { startTestSystem, type TestSystem } from './support/system';

/**
 * A payments outage longer than the placement timeout cancels the order its create stored (it
 * cannot be paid without a checkout). That must not poison the idempotencyKey: once the payments
 * service is back, the same create with the same key places the order (a new attempt), and from
 * then on the key names that order.
 */

const CREATE_TIMEOUT_MS = 8_000;
const PLACEMENT_TIMEOUT_MS = 1_500;

let system: TestSystem;
let payments: PaymentsService | undefined;
let product: { id: number };

beforeAll(async () => {
  system = await startTestSystem({
    ORDER_CREATE_TIMEOUT_MS: String(CREATE_TIMEOUT_MS),
    ORDER_PLACEMENT_TIMEOUT_MS: String(PLACEMENT_TIMEOUT_MS),
  });
  product = await system.nest.send('products.create', { name: 'Kettle', price: 30 });
});

afterAll(async () => {
  await payments?.stop();
  await system?.stop();
});

/** The payments service back after an outage, as a restarted process would be. */
async function restartPayments(): Promise<void> {
  const { config } = system;
  payments = await startPaymentsService({
    nats: system.nats,
    stripe: createStripeClient(config.stripe),
    logger: createLogger('payments-restarted', config.logLevel),
    config: { ...config, payments: { ...config.payments, httpPort: 0 } },
  });
}

it('places the order on a retry with the same idempotencyKey after a payments outage cancelled the first attempt', async () => {
  const idempotencyKey = `outage-${randomUUID()}`;
  const items = [{ productId: product.id, quantity: 2 }];
  await system.stopPart('payments');

  const failed = await system.nest.sendExpectingError('orders.create', { items, idempotencyKey });
  expect(failed.status).toBe(503);
  const firstAttempt = orderIdFor(idempotencyKey);
  expect(await system.nest.send<OrderWithItems>('orders.find.one', { id: firstAttempt })).toMatchObject({
    status: 'CANCELLED',
  });
  // The request whose placement failed answered that failure: it did not try the next attempt itself.
  expect(await system.orders.findOrder(orderIdFor(idempotencyKey, 1))).toBeNull();
  // Still down: the retry fails the same way (503), it is not refused for good.
  expect((await system.nest.sendExpectingError('orders.create', { items, idempotencyKey })).status).toBe(503);
  expect(await system.orders.findOrder(orderIdFor(idempotencyKey, 2))).toBeNull();

  await restartPayments();
  const placed = await system.client.place(items, { idempotencyKey });
  expect(placed.order).toMatchObject({ status: 'PENDING', totalAmount: 60, totalItems: 2 });
  expect(placed.paymentSession.url).toEqual(expect.any(String));
  expect(placed.order.id).toBe(orderIdFor(idempotencyKey, 2));

  // From now on the key names the placed order, and still refuses other items.
  const again = await system.client.place(items, { idempotencyKey });
  expect(again.order.id).toBe(placed.order.id);
  expect(again.paymentSession).toEqual(placed.paymentSession);
  const reused = await system.nest.sendExpectingError('orders.create', {
    items: [{ productId: product.id, quantity: 3 }],
    idempotencyKey,
  });
  expect(reused.status).toBe(422);

  // The placed order is paid like any other; the cancelled attempt stays cancelled.
  await system.client.pay(placed.order.id);
  await system.client.waitForStatus(placed.order.id, 'PAID');
  expect((await system.client.findOne(firstAttempt)).status).toBe('CANCELLED');
});
