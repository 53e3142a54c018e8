import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { sql } from 'slonik';
import { createRefundActivities, type RefundRequest } from '../src/activities/payments';
import { parseConfig } from '../src/config';
import { closeDatabasePool, createDatabasePool, type DatabasePool } from '../src/db/pool';
import { createRefundsRepository, type Refund } from '../src/db/refunds-repository';
import { startRefundOutcomeSubscriber, type RefundOutcomeSubscriber } from '../src/gateway/refund-outcome-subscriber';
import { createLogger } from '../src/logger';
import { connectNats } from '../src/nats/connection';
import { encodeEvent } from '../src/nats/nest-transport';
import { ensurePaymentStream, PAYMENT_STREAM } from '../src/nats/payment-stream';
import { REFUND_FAILED_SUBJECT, REFUND_REQUESTED_SUBJECT, REFUNDED_SUBJECT } from '../src/nats/subjects';
import { startRefundRequestConsumer, type RefundRequestConsumer } from '../src/payments/refund-request-consumer';
import { createStripeClient } from '../src/payments/stripe-client';
import { signRefundOutcome, signRefundRequest } from '../src/security/refund-signature';
import { eventually } from './support/eventually';
import { startPrivateNats, type PrivateNats } from './support/private-nats';
import { startStripeStandIn, type StripeStandIn } from './support/stripe-standin';

/**
 * Refunds end to end, between the worker's `requestRefund`, the payments companion's refund
 * consumer (against a Stripe stand-in that knows whose each payment is) and the gateway's refund
 * outcome subscriber, which records every outcome in `refunds`:
 * - only a request signed with REFUND_SIGNING_KEY refunds anything;
 * - only a payment whose Stripe metadata.orderId is the request's order is refunded;
 * - Stripe's refusals are recorded as failed with its code and message (already refunded is done);
 * - only outcomes the payments service signed are recorded.
 */

const config = parseConfig(process.env);
const logger = createLogger('refunds-test', 'silent');
let server: PrivateNats;
let nats: NatsConnection;
let pool: DatabasePool;
let stripe: StripeStandIn;
let consumer: RefundRequestConsumer;
let outcomes: RefundOutcomeSubscriber;
let requestRefund: (request: RefundRequest) => Promise<boolean>;
const refunds = () => createRefundsRepository(pool);
const orderIds: string[] = [];

beforeAll(async () => {
  // Its own NATS: the durable consumers here are the services' own names.
  server = await startPrivateNats();
  nats = await connectNats({ ...config.nats, url: server.url }, 'refunds-test');
  pool = await createDatabasePool(config.databaseUrl);
  stripe = await startStripeStandIn();
  await ensurePaymentStream(nats, config.paymentStream);
  consumer = await startRefundRequestConsumer({
    nats,
    stripe: createStripeClient({ secretKey: config.stripe.secretKey, apiBase: stripe.url }),
    logger,
    stream: config.paymentStream,
    signingKey: config.refunds.signingKey,
    verification: 'stripe',
  });
  outcomes = await startRefundOutcomeSubscriber({
    nats: nats,
    refunds: refunds(),
    stream: config.paymentStream,
    signingKey: config.refunds.signingKey,
    logger,
  });
  ({ requestRefund } = createRefundActivities({
    nats: nats,
    refunds: refunds(),
    signingKey: config.refunds.signingKey,
    requestTimeoutMs: 2_000,
  }));
});

afterAll(async () => {
  await consumer?.stop();
  await outcomes?.stop();
  if (pool && orderIds.length > 0) {
    const ids = sql.array(orderIds, 'uuid');
    await pool.query(sql.unsafe`DELETE FROM refunds WHERE order_id = ANY(${ids})`);
    await pool.query(sql.unsafe`DELETE FROM payments WHERE order_id = ANY(${ids})`);
    await pool.query(sql.unsafe`DELETE FROM orders WHERE id = ANY(${ids})`);
  }
  if (pool) await closeDatabasePool(pool);
  await nats?.close();
  await server?.stop();
  await stripe?.close();
});

const suffix = () => randomUUID().replace(/-/g, '').slice(0, 24);

/**
 * A CANCELLED order with a payment recorded for refund (as the workflow leaves it), and the
 * payment at Stripe, whose metadata.orderId is `stripeOrderId` (the order's own by default).
 */
async function paidCancelledOrder(
  options: { stripeOrderId?: string | null; atStripe?: boolean } = {},
): Promise<RefundRequest & { charge: string }> {
  const orderId = randomUUID();
  const id = suffix();
  const payment = {
    orderId,
    stripePaymentId: `pi_${id}`,
    charge: `ch_${id}`,
    reason: 'payment received for a CANCELLED order',
  };
  orderIds.push(orderId);
  await pool.query(sql.unsafe`
    INSERT INTO orders (id, total_cents, total_items, currency, status) VALUES (${orderId}, 2500, 1, 'usd', 'CANCELLED')`);
  await pool.query(sql.unsafe`
    INSERT INTO payments (stripe_payment_id, order_id, outcome) VALUES (${payment.stripePaymentId}, ${orderId}, 'REFUND_REQUESTED')`);
  if (options.atStripe !== false) {
    stripe.addPayment({
      paymentIntent: payment.stripePaymentId,
      charge: payment.charge,
      amount: 2500,
      currency: 'usd',
      orderId: options.stripeOrderId === undefined ? orderId : options.stripeOrderId,
    });
  }
  return payment;
}

/** The refund's row once it has an outcome. */
const settled = (stripePaymentId: string): Promise<Refund> =>
  eventually(async () => {
    const refund = await refunds().find(stripePaymentId);
    expect(refund?.status).toMatch(/^(done|failed)$/);
    return refund as Refund;
  });

const stripeRefundsOf = (paymentIntent: string) =>
  stripe.refunds().filter((refund) => refund.paymentIntent === paymentIntent);

/** Publishes a refund request as anyone on NATS could, into the stream. */
async function publishRequest(data: Record<string, unknown>): Promise<void> {
  await jetstream(nats).publish(REFUND_REQUESTED_SUBJECT, encodeEvent(REFUND_REQUESTED_SUBJECT, data), {
    expect: { streamName: PAYMENT_STREAM },
  });
}

it('refunds the order’s own payment once, and records it done with Stripe’s refund id', async () => {
  const payment = await paidCancelledOrder();
  await requestRefund(payment);
  const refund = await settled(payment.stripePaymentId);
  const [made, ...more] = stripeRefundsOf(payment.stripePaymentId);
  expect(more).toEqual([]);
  expect(made).toMatchObject({
    amount: 2500,
    metadata: { orderId: payment.orderId },
    idempotencyKey: `refund-${payment.stripePaymentId}`,
  });
  expect(refund).toMatchObject({ status: 'done', stripeRefundId: made?.id, failure: null, orderId: payment.orderId });
  expect(refund.settledAt).not.toBeNull();
  // Stripe was asked whose payment it is before the refund.
  const calls = stripe.requests().map((call) => `${call.method} ${call.path}`);
  expect(calls.indexOf(`GET /v1/payment_intents/${payment.stripePaymentId}`)).toBeGreaterThanOrEqual(0);
});

it('refunds a payment reported under a py_ id (a non-card payment method), as Stripe names such charges', async () => {
  const orderId = randomUUID();
  const id = suffix();
  orderIds.push(orderId);
  await pool.query(sql.unsafe`
    INSERT INTO orders (id, total_cents, total_items, currency, status) VALUES (${orderId}, 2500, 1, 'usd', 'CANCELLED')`);
  await pool.query(sql.unsafe`
    INSERT INTO payments (stripe_payment_id, order_id, outcome) VALUES (${`py_${id}`}, ${orderId}, 'REFUND_REQUESTED')`);
  stripe.addPayment({ paymentIntent: `pi_${id}`, charge: `py_${id}`, amount: 2500, currency: 'usd', orderId });
  // Before, the request was unreadable (only pi_ and ch_) and stayed owed for ever.
  await requestRefund({ orderId, stripePaymentId: `py_${id}`, reason: 'payment received for a CANCELLED order' });
  await expect(settled(`py_${id}`)).resolves.toMatchObject({ status: 'done' });
  expect(stripeRefundsOf(`pi_${id}`)).toHaveLength(1);
});

it('refunds nothing for an unsigned request or one signed with another key, and announces no outcome for it', async () => {
  const unsigned = await paidCancelledOrder();
  const forged = await paidCancelledOrder();
  const genuine = await paidCancelledOrder();
  await refunds().request(unsigned);
  await refunds().request(forged);
  const { charge: _unsignedCharge, ...unsignedRequest } = unsigned;
  const { charge: _forgedCharge, ...forgedRequest } = forged;
  const { charge: _genuineCharge, ...genuineRequest } = genuine;
  await publishRequest(unsignedRequest);
  await publishRequest({
    ...forgedRequest,
    signature: signRefundRequest(forgedRequest, 'someone else’s key, at least 32 characters long'),
  });
  // The worker's own request, after them in the stream: once it is done, they have been handled.
  await requestRefund(genuineRequest);
  await expect(settled(genuine.stripePaymentId)).resolves.toMatchObject({ status: 'done' });
  // Before the fix a signed "failed" outcome was announced for anyone's request, so whoever could
  // publish a request could mark a genuine refund owed as failed.
  await expect(refunds().find(unsigned.stripePaymentId)).resolves.toMatchObject({ status: 'requested' });
  await expect(refunds().find(forged.stripePaymentId)).resolves.toMatchObject({ status: 'requested' });
  expect(stripeRefundsOf(unsigned.stripePaymentId)).toEqual([]);
  expect(stripeRefundsOf(forged.stripePaymentId)).toEqual([]);
});

it('refuses a correctly signed request for a payment Stripe says is another order’s', async () => {
  const victim = await paidCancelledOrder();
  // Recorded on this order (e.g. from a forged payment event naming the victim's payment)...
  const attacker = await paidCancelledOrder({ atStripe: false });
  await pool.query(sql.unsafe`
    UPDATE payments SET stripe_payment_id = ${`pi_${suffix()}`} WHERE order_id = ${victim.orderId}`);
  await pool.query(sql.unsafe`
    UPDATE payments SET stripe_payment_id = ${victim.stripePaymentId} WHERE order_id = ${attacker.orderId}`);
  // ...and signed by the worker, but Stripe's metadata.orderId names the victim's order.
  await requestRefund({ ...attacker, stripePaymentId: victim.stripePaymentId });

  await expect(settled(victim.stripePaymentId)).resolves.toMatchObject({
    status: 'failed',
    orderId: attacker.orderId,
    failure: `not_order_payment: Stripe payment ${victim.stripePaymentId} belongs to order ${victim.orderId}, not ${attacker.orderId}`,
  });
  expect(stripeRefundsOf(victim.stripePaymentId)).toEqual([]);

  // A payment without metadata.orderId (not from this service's checkout) is nobody's to refund.
  const anonymous = await paidCancelledOrder({ stripeOrderId: null });
  await requestRefund(anonymous);
  await expect(settled(anonymous.stripePaymentId)).resolves.toMatchObject({
    status: 'failed',
    failure: expect.stringContaining('carries no metadata.orderId'),
  });
  expect(stripeRefundsOf(anonymous.stripePaymentId)).toEqual([]);
});

it('records Stripe’s refusals with its code and message, and an already refunded payment as done', async () => {
  const unknown = await paidCancelledOrder({ atStripe: false });
  await requestRefund(unknown);
  await expect(settled(unknown.stripePaymentId)).resolves.toMatchObject({
    status: 'failed',
    failure: `resource_missing: No such payment_intent: '${unknown.stripePaymentId}'`,
  });

  const refundedBefore = await paidCancelledOrder();
  // Refunded in Stripe's dashboard before the request arrives.
  await createStripeClient({ secretKey: config.stripe.secretKey, apiBase: stripe.url }).refunds.create({
    payment_intent: refundedBefore.stripePaymentId,
  });
  await requestRefund(refundedBefore);
  await expect(settled(refundedBefore.stripePaymentId)).resolves.toMatchObject({
    status: 'done',
    stripeRefundId: null,
    failure: null,
  });
  expect(stripeRefundsOf(refundedBefore.stripePaymentId)).toHaveLength(1);
});

it('records only outcomes the payments service signed, and never undoes a done refund', async () => {
  const payment = await paidCancelledOrder({ atStripe: false });
  await refunds().request(payment);
  const js = jetstream(nats);
  const forgedDone = { orderId: payment.orderId, stripePaymentId: payment.stripePaymentId, refundId: 're_forged' };
  await js.publish(REFUNDED_SUBJECT, encodeEvent(REFUNDED_SUBJECT, forgedDone));
  await js.publish(
    REFUNDED_SUBJECT,
    encodeEvent(REFUNDED_SUBJECT, {
      ...forgedDone,
      signature: signRefundOutcome(
        { kind: 'refunded', ...forgedDone },
        'someone else’s key, at least 32 characters long',
      ),
    }),
  );
  // A signed failure behind them: once it is recorded, the forged ones before it were handled.
  const failure = { orderId: payment.orderId, stripePaymentId: payment.stripePaymentId, reason: 'card_declined: no' };
  const signedFailure = {
    ...failure,
    signature: signRefundOutcome({ kind: 'failed', ...failure }, config.refunds.signingKey),
  };
  await js.publish(REFUND_FAILED_SUBJECT, encodeEvent(REFUND_FAILED_SUBJECT, signedFailure));
  await expect(settled(payment.stripePaymentId)).resolves.toMatchObject({ status: 'failed', stripeRefundId: null });
  const consumers = await jetstreamManager(nats);
  await eventually(async () => {
    const info = await consumers.consumers.info(PAYMENT_STREAM, 'orders-refund-done');
    expect(info.num_pending + info.num_ack_pending).toBe(0);
  });
  await expect(refunds().find(payment.stripePaymentId)).resolves.toMatchObject({
    status: 'failed',
    stripeRefundId: null,
  });

  // Signed done: recorded; a signed failure after it changes nothing.
  const done = { orderId: payment.orderId, stripePaymentId: payment.stripePaymentId, refundId: 're_real' };
  await js.publish(
    REFUNDED_SUBJECT,
    encodeEvent(REFUNDED_SUBJECT, {
      ...done,
      signature: signRefundOutcome({ kind: 'refunded', ...done }, config.refunds.signingKey),
    }),
  );
  await eventually(async () =>
    expect(await refunds().find(payment.stripePaymentId)).toMatchObject({ status: 'done', stripeRefundId: 're_real' }),
  );
  await js.publish(REFUND_FAILED_SUBJECT, encodeEvent(REFUND_FAILED_SUBJECT, signedFailure), { msgID: randomUUID() });
  await eventually(async () => {
    const info = await consumers.consumers.info(PAYMENT_STREAM, 'orders-refund-failed');
    expect(info.num_pending + info.num_ack_pending).toBe(0);
  });
  await expect(refunds().find(payment.stripePaymentId)).resolves.toMatchObject({
    status: 'done',
    stripeRefundId: 're_real',
  });
});
