import { sql } from 'slonik';
import { z } from 'zod';
import type { OrderWithItems, PaymentSession } from '../src/orders/types';
import { checkoutSessionEvent, postWebhook, signEvent, webhookUrl } from '../src/payments/test-events';
import { eventually } from './support/eventually';
import { startRecordingProxy } from './support/recording-proxy';
import { startTestSystem, type TestSystem } from './support/system';

// A zero-decimal currency: 1500 yen are 1500 minor units, not 150000.
let system: TestSystem;
let proxy: Awaited<ReturnType<typeof startRecordingProxy>>;

beforeAll(async () => {
  proxy = await startRecordingProxy(process.env.STRIPE_API_BASE as string);
  system = await startTestSystem({ ORDER_CURRENCY: 'jpy', STRIPE_API_BASE: proxy.url });
});

afterAll(async () => {
  await system?.stop();
  await proxy?.close();
});

it('places and pays a JPY order in yen, not in hundredths of a yen', async () => {
  const teapot = await system.nest.send<{ id: number }>('products.create', { name: 'Teapot', price: 1500 });
  const { order } = await system.nest.send<{ order: OrderWithItems; paymentSession: PaymentSession }>('orders.create', {
    items: [{ productId: teapot.id, quantity: 2 }],
  });
  expect(order).toMatchObject({
    currency: 'jpy',
    totalAmount: 3000,
    OrderItems: [{ productId: teapot.id, price: 1500, quantity: 2 }],
  });

  // Stripe is asked for 1500 per unit in JPY.
  const sent = proxy.requests
    .filter((recorded) => recorded.path === '/v1/checkout/sessions')
    .map((recorded) => Object.fromEntries(new URLSearchParams(recorded.body)))
    .filter((body) => body['metadata[orderId]'] === order.id);
  expect(sent).toHaveLength(1);
  expect(sent[0]).toMatchObject({
    'line_items[0][price_data][currency]': 'jpy',
    'line_items[0][price_data][unit_amount]': '1500',
    'line_items[0][quantity]': '2',
  });

  // Stored exactly, in minor units.
  const stored = await system.pool.one(
    sql.type(z.object({ total_cents: z.number(), price_cents: z.number() }))`
      SELECT o.total_cents, i.price_cents FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.id = ${order.id}`,
  );
  expect(stored).toEqual({ total_cents: 3000, price_cents: 1500 });

  const paid = signEvent(checkoutSessionEvent({ orderId: order.id }), system.config.stripe.webhookSecret);
  expect((await postWebhook(webhookUrl(system.paymentsUrl), paid)).status).toBe(200);
  const found = await eventually(async () => {
    const current = await system.nest.send<OrderWithItems>('orders.find.one', { id: order.id });
    expect(current.status).toBe('PAID');
    return current;
  });
  expect(found).toMatchObject({ totalAmount: 3000, currency: 'jpy', paid: true, OrderItems: [{ price: 1500 }] });
});
