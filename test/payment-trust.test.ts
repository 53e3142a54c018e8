import { randomUUID } from 'node:crypto';
import { createPaymentAcceptanceActivities } from '../src/activities/payment-acceptance';
import { createStripePayments } from '../src/activities/stripe-payments';
import { createDeadLettersRepository } from '../src/db/dead-letters-repository';
import { migrate } from '../src/db/migrate';
import { createOrdersRepository, type OrdersRepository } from '../src/db/orders-repository';
import { closeDatabasePool, createDatabasePool, type DatabasePool } from '../src/db/pool';
import { createLogger } from '../src/logger';
import { dropDatabase, uniqueDatabaseUrl } from './setup/databases';
import { orderWorkflowId, paymentSucceededSignal } from '../src/orders/workflow-api';
import type { OrderWithItems, PaymentSucceeded } from '../src/orders/types';
import { createStripeClient } from '../src/payments/stripe-client';
import { signPayment } from '../src/security/payment-signature';
import { resolveDeadLetters, resolveRefusedPayments } from './support/dead-letters';
import { eventually } from './support/eventually';
import { paymentEvent } from './support/orders-client';
import { startStripeStandIn, type StripeStandIn } from './support/stripe-standin';
import { startTestSystem, type TestSystem } from './support/system';

/**
 * A payment counts only when it is the order's own (anyone on NATS can publish or signal), on the whole system: forged,
 * malformed and foreign signals, wrong amounts and currencies, and reused payment ids never pay;
 * the genuine payment still does.
 */

let system: TestSystem;
let product: { id: number };

beforeAll(async () => {
  system = await startTestSystem();
  // 12.50 USD, two of them: 25.00 USD, 2500 cents.
  product = await system.nest.send('products.create', { name: 'Lamp', price: 12.5 });
});

afterAll(async () => {
  await system?.stop();
});

const place = async (): Promise<OrderWithItems> =>
  (await system.client.place([{ productId: product.id, quantity: 2 }])).order;

/** Pays `orderId` through NATS as the payments service does, and answers the order once PAID. */
async function payGenuinely(orderId: string): Promise<{ order: OrderWithItems; payment: PaymentSucceeded }> {
  const payment = await system.client.pay(orderId);
  return { order: await system.client.waitForStatus(orderId, 'PAID'), payment };
}

describe('signals from outside the payment path', () => {
  it('never pay, never block: unsigned or falsely signed payments, {}, and a signal naming another order', async () => {
    const [order, other] = await Promise.all([place(), place()]);
    const handle = system.temporal.workflow.getHandle(orderWorkflowId(order.id));
    // As the Temporal CLI or the Web UI's "Send signal" would send them.
    await handle.signal(paymentSucceededSignal, paymentEvent(order.id) as never);
    await handle.signal(paymentSucceededSignal, { ...paymentEvent(order.id), signature: 'v1.made-up' });
    await handle.signal(paymentSucceededSignal, {} as never);
    await handle.signal(paymentSucceededSignal, paymentEvent(other.id) as never);
    // Even signed with the gateway's key, a payment naming another order changes nothing here.
    await handle.signal(
      paymentSucceededSignal,
      signPayment(paymentEvent(other.id), system.config.paymentTrust.signingKey),
    );
    const { order: paid, payment } = await payGenuinely(order.id);
    expect(paid).toMatchObject({ status: 'PAID', stripeChargeId: payment.stripePaymentId });
    expect(await system.orders.findPaymentIds(order.id)).toEqual([payment.stripePaymentId]);
    expect(await system.client.findOne(other.id)).toMatchObject({ status: 'PENDING', paid: false });
    expect(await system.orders.findPaymentIds(other.id)).toEqual([]);
    // The one with a made-up signature reached the worker, which refused it; it never came through
    // the payment path, so it is counted, not kept as a dead letter (a flood of them cannot bury the
    // audit). The unsigned, malformed and foreign ones never left the workflow.
    expect(await resolveRefusedPayments(system.pool, order.id)).toEqual([]);
  });
});

describe("payment.succeeded with Stripe's amount and currency", () => {
  it.each([
    ['1 cent', { amount: 1, currency: 'usd' }, 'paid 0.01 USD'],
    ['another currency', { amount: 2500, currency: 'EUR' }, 'paid 25 EUR'],
  ])('records %s as a mismatch (the order stays unpaid, the money is to be refunded)', async (_name, money, detail) => {
    const order = await place();
    const wrong = await system.client.pay(order.id, paymentEvent(order.id, money));
    const recorded = await eventually(async () => {
      const found = await system.orders.findPayment(wrong.stripePaymentId);
      if (found === null) throw new Error('not recorded yet');
      return found;
    });
    expect(recorded).toEqual({ orderId: order.id, outcome: 'MISMATCH', detail: expect.stringContaining(detail) });
    expect(await system.client.findOne(order.id)).toMatchObject({ status: 'PENDING', paid: false });
    // The order's own amount pays it.
    const right = await system.client.pay(order.id, paymentEvent(order.id, { amount: 2500, currency: 'usd' }));
    expect(await system.client.waitForStatus(order.id, 'PAID')).toMatchObject({
      stripeChargeId: right.stripePaymentId,
    });
  });

  it('keeps an event whose amount comes without a currency as a dead letter, paying nothing', async () => {
    const order = await place();
    const halfKnown = await system.client.pay(order.id, {
      ...paymentEvent(order.id),
      amount: 2500,
    } as PaymentSucceeded);
    const { order: paid, payment } = await payGenuinely(order.id);
    expect(paid.stripeChargeId).toBe(payment.stripePaymentId);
    expect(await resolveDeadLetters(system.pool, (letter) => letter.body.includes(halfKnown.stripePaymentId))).toEqual([
      expect.stringContaining('amount and currency come together'),
    ]);
  });
});

describe('one payment id pays one order', () => {
  it('a payment id already recorded for another order never pays this one', async () => {
    const [first, second] = await Promise.all([place(), place()]);
    const { payment: reused } = await payGenuinely(first.id);
    await system.client.pay(second.id, { ...reused, orderId: second.id });
    const { order: paid, payment } = await payGenuinely(second.id);
    expect(paid.stripeChargeId).toBe(payment.stripePaymentId);
    expect(await system.orders.findPayment(reused.stripePaymentId)).toMatchObject({
      orderId: first.id,
      outcome: 'APPLIED',
    });
    expect(await system.orders.findPaymentIds(second.id)).toEqual([payment.stripePaymentId]);
    expect(await resolveRefusedPayments(system.pool, second.id)).toEqual([
      expect.stringContaining(`already recorded for order ${first.id}`),
    ]);
  });
});

describe('PAYMENT_VERIFICATION=stripe: the worker believes Stripe, not the event', () => {
  let stripe: StripeStandIn;
  let accept: ReturnType<typeof createPaymentAcceptanceActivities>['acceptPayment'];
  let client: ReturnType<typeof createStripeClient>;
  const key = 'a-signing-key-for-the-stripe-verification-tests';
  // Orders stored here have no workflow: a database of their own (the run's audit would report them).
  let databaseUrl: string;
  let pool: DatabasePool;
  let orders: OrdersRepository;

  beforeAll(async () => {
    databaseUrl = uniqueDatabaseUrl(system.config.databaseUrl, 'payment_trust');
    await migrate(databaseUrl, createLogger('test', 'silent'));
    pool = await createDatabasePool(databaseUrl);
    orders = createOrdersRepository(pool);
    stripe = await startStripeStandIn();
    client = createStripeClient({ secretKey: 'rk_test_verify', apiBase: stripe.url });
    ({ acceptPayment: accept } = createPaymentAcceptanceActivities({
      orders,
      deadLetters: createDeadLettersRepository(pool),
      trust: { signingKey: key, verification: 'stripe' },
      stripe: createStripePayments(client),
    }));
  });

  afterAll(async () => {
    await stripe?.close();
    if (pool) await closeDatabasePool(pool);
    if (databaseUrl) await dropDatabase(databaseUrl);
  });

  /** A stored order of 2 x 10.00 USD, and the three original fields of a payment for it. */
  async function storedOrder(): Promise<{ orderId: string; event: (id?: string) => PaymentSucceeded }> {
    const orderId = randomUUID();
    await orders.insertOrder({
      orderId,
      currency: 'usd',
      items: [{ productId: 1, name: 'Thing', priceCents: 1000, quantity: 2 }],
    });
    return {
      orderId,
      event: (id = `pi_${randomUUID().replace(/-/g, '')}`) => paymentEvent(orderId, { stripePaymentId: id }),
    };
  }
  const request = (orderId: string, payment: PaymentSucceeded) => ({
    orderId,
    payment: signPayment(payment, key),
    use: { kind: 'pay' as const },
  });

  it("pays with an event of only the three original fields once Stripe confirms the order's amount", async () => {
    const { orderId, event } = await storedOrder();
    const payment = event();
    stripe.addPayment({ paymentIntent: payment.stripePaymentId, amount: 2000, currency: 'usd', orderId });
    expect(await accept(request(orderId, payment))).toMatchObject({
      kind: 'recorded',
      outcome: 'APPLIED',
      order: { status: 'PAID', stripeChargeId: payment.stripePaymentId },
    });
  });

  it('pays by charge id, reading the order from its payment intent', async () => {
    const { orderId, event } = await storedOrder();
    const charge = `ch_${randomUUID().replace(/-/g, '')}`;
    stripe.addPayment({
      paymentIntent: `pi_${randomUUID().replace(/-/g, '')}`,
      charge,
      amount: 2000,
      currency: 'usd',
      orderId,
    });
    expect(await accept(request(orderId, event(charge)))).toMatchObject({ kind: 'recorded', outcome: 'APPLIED' });
  });

  it.each([
    ['unknown to Stripe', null, 'Stripe knows no such payment'],
    ['for another order', { amount: 2000, currency: 'usd', orderId: randomUUID() }, 'Stripe says it is for order'],
    ['not succeeded', { amount: 2000, currency: 'usd', status: 'requires_payment_method' }, 'requires_payment_method'],
  ])('refuses a payment %s, recording nothing', async (_name, stored, reason) => {
    const { orderId, event } = await storedOrder();
    const payment = event();
    if (stored !== null) stripe.addPayment({ paymentIntent: payment.stripePaymentId, orderId, ...stored });
    const answer = await accept(request(orderId, payment));
    expect(answer).toEqual({ kind: 'refused', reason: expect.stringContaining(reason) });
    expect(await orders.findPayment(payment.stripePaymentId)).toBeNull();
    expect(await orders.findOrder(orderId)).toMatchObject({ status: 'PENDING' });
  });

  it('refuses a payment Stripe has refunded since (its intent still says succeeded)', async () => {
    const { orderId, event } = await storedOrder();
    const payment = event();
    const charge = `ch_${randomUUID().replace(/-/g, '')}`;
    stripe.addPayment({ paymentIntent: payment.stripePaymentId, charge, amount: 2000, currency: 'usd', orderId });
    await client.refunds.create({ payment_intent: payment.stripePaymentId, amount: 500 });
    expect(await accept(request(orderId, payment))).toEqual({
      kind: 'refused',
      reason: expect.stringContaining('Stripe says the payment is refunded'),
    });
    expect(await accept(request(orderId, event(charge)))).toMatchObject({ kind: 'refused' });
  });

  it("refuses an event that claims another amount than Stripe's, and records Stripe's short amount as a mismatch", async () => {
    const { orderId, event } = await storedOrder();
    const short = event();
    stripe.addPayment({ paymentIntent: short.stripePaymentId, amount: 500, currency: 'usd', orderId });
    expect(await accept(request(orderId, { ...short, amount: 2000, currency: 'usd' }))).toMatchObject({
      kind: 'refused',
      reason: expect.stringContaining("not Stripe's"),
    });
    expect(await accept(request(orderId, short))).toMatchObject({
      kind: 'recorded',
      outcome: 'MISMATCH',
      detail: expect.stringContaining('paid 5 USD'),
      order: { status: 'PENDING' },
    });
  });

  it('refuses an unsigned payment before asking Stripe', async () => {
    const { orderId, event } = await storedOrder();
    const payment = event();
    stripe.addPayment({ paymentIntent: payment.stripePaymentId, amount: 2000, currency: 'usd', orderId });
    const asked = stripe.requests().length;
    const answer = await accept({ orderId, payment: { ...payment, signature: 'v1.forged' }, use: { kind: 'pay' } });
    expect(answer).toMatchObject({ kind: 'refused', reason: expect.stringContaining('not signed by the gateway') });
    expect(stripe.requests().length).toBe(asked);
  });
});
