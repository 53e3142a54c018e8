import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import { createStripeClient } from '../src/payments/stripe-client';
import { startStripeStandIn, type StripeStandIn } from './support/stripe-standin';

/**
 * The Stripe stand-in of the tests (test/support/stripe-standin.ts), through the real `stripe`
 * client as the services configure it: it remembers payments and refunds, and answers Stripe's
 * shapes and errors.
 */

let standIn: StripeStandIn;
let stripe: Stripe;

beforeAll(async () => {
  standIn = await startStripeStandIn();
  stripe = createStripeClient({ secretKey: 'sk_test_stand_in', apiBase: standIn.url });
});

afterAll(async () => {
  await standIn?.close();
});

const ids = () => {
  const suffix = randomUUID().replace(/-/g, '').slice(0, 24);
  return { paymentIntent: `pi_${suffix}`, charge: `ch_${suffix}`, orderId: randomUUID() };
};

it('serves the payment intent and the charge it was given, with the order id in their metadata', async () => {
  const payment = ids();
  standIn.addPayment({ ...payment, amount: 4998, currency: 'usd' });

  const intent = await stripe.paymentIntents.retrieve(payment.paymentIntent);
  expect(intent).toMatchObject({
    id: payment.paymentIntent,
    object: 'payment_intent',
    amount: 4998,
    amount_received: 4998,
    currency: 'usd',
    status: 'succeeded',
    metadata: { orderId: payment.orderId },
    latest_charge: payment.charge,
    livemode: false,
  });
  const charge = await stripe.charges.retrieve(payment.charge);
  expect(charge).toMatchObject({
    id: payment.charge,
    object: 'charge',
    payment_intent: payment.paymentIntent,
    amount: 4998,
    amount_captured: 4998,
    currency: 'usd',
    status: 'succeeded',
    paid: true,
    metadata: { orderId: payment.orderId },
    refunded: false,
  });
  expect(charge.receipt_url).toContain(payment.charge);
  expect(standIn.requests()).toEqual(
    expect.arrayContaining([
      { method: 'GET', path: `/v1/payment_intents/${payment.paymentIntent}` },
      { method: 'GET', path: `/v1/charges/${payment.charge}` },
    ]),
  );
});

it('answers an unknown id with 404 resource_missing, as Stripe does', async () => {
  const error = await stripe.paymentIntents.retrieve('pi_nobodyknows').catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
  expect(error).toMatchObject({ statusCode: 404, code: 'resource_missing', type: 'StripeInvalidRequestError' });
  await expect(stripe.charges.retrieve('ch_nobodyknows')).rejects.toMatchObject({
    statusCode: 404,
    code: 'resource_missing',
  });
  await expect(stripe.refunds.create({ payment_intent: 'pi_nobodyknows' })).rejects.toMatchObject({
    statusCode: 404,
    code: 'resource_missing',
    param: 'payment_intent',
  });
  await expect(stripe.customers.retrieve('cus_1')).rejects.toMatchObject({ statusCode: 404 });
});

it('refunds once per idempotency key, and refuses to refund a refunded payment', async () => {
  const payment = ids();
  standIn.addPayment({ ...payment, amount: 1990, currency: 'eur' });
  const key = `refund-${payment.paymentIntent}`;

  const first = await stripe.refunds.create(
    { payment_intent: payment.paymentIntent, metadata: { orderId: payment.orderId } },
    { idempotencyKey: key },
  );
  const again = await stripe.refunds.create(
    { payment_intent: payment.paymentIntent, metadata: { orderId: payment.orderId } },
    { idempotencyKey: key },
  );
  expect(again.id).toBe(first.id);
  expect(first).toMatchObject({ object: 'refund', amount: 1990, currency: 'eur', status: 'succeeded' });
  expect(standIn.refunds().filter((refund) => refund.paymentIntent === payment.paymentIntent)).toEqual([
    {
      id: first.id,
      paymentIntent: payment.paymentIntent,
      amount: 1990,
      metadata: { orderId: payment.orderId },
      idempotencyKey: key,
    },
  ]);
  expect((await stripe.charges.retrieve(payment.charge)).refunded).toBe(true);

  // Under another key (and by its charge id): Stripe's 400 charge_already_refunded.
  await expect(
    stripe.refunds.create({ charge: payment.charge }, { idempotencyKey: `other-${payment.charge}` }),
  ).rejects.toMatchObject({ statusCode: 400, code: 'charge_already_refunded', type: 'StripeInvalidRequestError' });
  expect(standIn.refunds().filter((refund) => refund.paymentIntent === payment.paymentIntent)).toHaveLength(1);
});
