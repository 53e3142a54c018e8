import { randomBytes } from 'node:crypto';
import { PAYMENTS_SUBJECTS } from '../src/nats/subjects';
import { getOrderQuery, orderWorkflowId } from '../src/orders/workflow-api';
import type { OrderWithItems } from '../src/orders/types';
import {
  chargeSucceededEvent,
  checkoutSessionEvent,
  postWebhook,
  signEvent,
  webhookUrl,
  type TestEvent,
} from '../src/payments/test-events';
import { eventually } from './support/eventually';
import { startTestSystem, type TestSystem } from './support/system';

/** Several Stripe events for one payment, through the signed webhook as Stripe sends them. */

let system: TestSystem;
let product: { id: number };

beforeAll(async () => {
  system = await startTestSystem();
  product = await system.nest.send('products.create', { name: 'Blanket', price: 40 });
});

afterAll(async () => {
  await system?.stop();
});

const place = async (): Promise<OrderWithItems> =>
  (
    await system.nest.send<{ order: OrderWithItems }>('orders.create', {
      items: [{ productId: product.id, quantity: 1 }],
    })
  ).order;

const deliver = async (event: TestEvent): Promise<void> => {
  const answer = await postWebhook(
    webhookUrl(system.paymentsUrl),
    signEvent(event, system.config.stripe.webhookSecret),
  );
  expect(answer.status).toBe(200);
};

const findOne = (id: string): Promise<OrderWithItems> => system.nest.send('orders.find.one', { id });

it('keeps the receipt of a charge.succeeded that follows its checkout event, and never overwrites it', async () => {
  const order = await place();
  const paymentIntentId = `pi_${randomBytes(12).toString('hex')}`;
  await deliver(checkoutSessionEvent({ orderId: order.id, paymentIntentId }));
  await eventually(async () =>
    expect(await findOne(order.id)).toMatchObject({
      status: 'PAID',
      stripeChargeId: paymentIntentId,
      receiptUrl: null,
    }),
  );

  const charge = chargeSucceededEvent({ orderId: order.id, paymentIntentId });
  const receiptUrl = (charge.data.object as { receipt_url: string }).receipt_url;
  await deliver(charge);
  await eventually(async () => expect((await findOne(order.id)).receiptUrl).toBe(receiptUrl));
  const handle = system.temporal.workflow.getHandle(orderWorkflowId(order.id));
  expect(await handle.query(getOrderQuery)).toMatchObject({ receiptUrl, status: 'PAID' });

  // Another event for the same payment with another receipt changes nothing.
  await deliver(chargeSucceededEvent({ orderId: order.id, paymentIntentId }));
  await system.nest.send('orders.change.status', { id: order.id, status: 'DELIVERED' });
  expect(await findOne(order.id)).toMatchObject({ status: 'DELIVERED', receiptUrl });
  expect(await system.orders.findPaymentIds(order.id)).toEqual([paymentIntentId]);
});

it('identifies the payment intent behind Stripe payment ids (identify.payments, asking Stripe)', async () => {
  const answer = await system.nest.send<{ paymentIntents: Record<string, string | null> }>(PAYMENTS_SUBJECTS.identify, {
    stripePaymentIds: ['pi_abc', 'ch_abc'],
  });
  // A payment intent is its own; a charge's comes from Stripe (stripe-mock's charges carry none).
  expect(answer).toEqual({ paymentIntents: { pi_abc: 'pi_abc', ch_abc: null } });
  const refused = await system.nest.sendExpectingError(PAYMENTS_SUBJECTS.identify, {
    stripePaymentIds: ['evt_1'],
  });
  expect(refused.status).toBe(400);
});
