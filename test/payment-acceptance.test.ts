import { randomUUID } from 'node:crypto';
import { createPaymentAcceptanceActivities } from '../src/activities/payment-acceptance';
import { createDeadLettersRepository } from '../src/db/dead-letters-repository';
import { FailureType } from '../src/orders/errors';
import { createOrdersRepository } from '../src/db/orders-repository';
import type { DatabasePool } from '../src/db/pool';
import type { PaymentSucceeded } from '../src/orders/types';
import { signPayment } from '../src/security/payment-signature';
import { countingPool } from './support/counting-pool';
import { createOwnDatabase, type OwnDatabase } from './support/own-database';
import { paymentEvent } from './support/orders-client';

// The worker's check of a payment against its stored order, with the payment events believed (the
// default trust). Orders stored here have no workflow: a database of their own.
const key = 'a-signing-key-for-the-payment-acceptance-tests';
let database: OwnDatabase;
let pool: DatabasePool;

beforeAll(async () => {
  database = await createOwnDatabase('payment_acceptance');
  ({ pool } = database);
});

afterAll(async () => {
  await database?.drop();
});

/** The acceptance activity over `pool`, the statements it sends listed in `statements`. */
function acceptance(statements: string[] = []) {
  const counted = countingPool(pool, statements);
  return createPaymentAcceptanceActivities({
    orders: createOrdersRepository(counted),
    deadLetters: createDeadLettersRepository(counted),
    trust: { signingKey: key, verification: 'events' },
  }).acceptPayment;
}

/** A stored order of 2 x 12.50 EUR, or of 2 x 1250 JPY (a currency without minor units). */
async function storedOrder(currency: 'eur' | 'jpy' = 'eur'): Promise<string> {
  const orderId = randomUUID();
  await createOrdersRepository(pool).insertOrder({
    orderId,
    currency,
    items: [{ productId: 1, name: 'Lamp', priceCents: 1250, quantity: 2 }],
  });
  return orderId;
}

const pay = (payment: PaymentSucceeded) => ({
  orderId: payment.orderId,
  payment: signPayment(payment, key),
  use: { kind: 'pay' as const },
});

it("pays an order with a payment of its amount in two statements: the payment's record with the order, then the write", async () => {
  const orderId = await storedOrder();
  const statements: string[] = [];
  const payment = paymentEvent(orderId, { amount: 2500, currency: 'eur' });
  expect(await acceptance(statements)(pay(payment))).toMatchObject({
    kind: 'recorded',
    outcome: 'APPLIED',
    order: { id: orderId, status: 'PAID', stripeChargeId: payment.stripePaymentId },
  });
  expect(statements).toEqual(['one', 'maybeOne']);
  // Asked again (a retried attempt), it is the same payment, answered from its record.
  expect(await acceptance()(pay(payment))).toMatchObject({ kind: 'recorded', outcome: 'APPLIED' });
});

it.each([
  ['amount', 'eur', { amount: 2499, currency: 'eur' }, "paid 24.99 EUR, the order's total is 25 EUR"],
  ['currency', 'eur', { amount: 2500, currency: 'usd' }, "paid 25 USD, the order's total is 25 EUR"],
  ['amount in yen', 'jpy', { amount: 25, currency: 'jpy' }, "paid 25 JPY, the order's total is 2500 JPY"],
] as const)(
  'records a payment of another %s as a mismatch, never paying the order',
  async (_name, currency, paid, detail) => {
    const orderId = await storedOrder(currency);
    const answer = await acceptance()(pay(paymentEvent(orderId, paid)));
    expect(answer).toMatchObject({ kind: 'recorded', outcome: 'MISMATCH', detail, order: { status: 'PENDING' } });
  },
);

it('pays an order in yen with a payment of its amount in yen', async () => {
  const orderId = await storedOrder('jpy');
  const answer = await acceptance()(pay(paymentEvent(orderId, { amount: 2500, currency: 'jpy' })));
  expect(answer).toMatchObject({ kind: 'recorded', outcome: 'APPLIED', order: { status: 'PAID', totalAmount: 2500 } });
});

it('refuses a payment already recorded for another order, and fails one for an order not stored', async () => {
  const [first, second] = [await storedOrder(), await storedOrder()];
  const payment = paymentEvent(first, { amount: 2500, currency: 'eur' });
  await acceptance()(pay(payment));
  expect(await acceptance()(pay({ ...payment, orderId: second }))).toEqual({
    kind: 'refused',
    reason: expect.stringContaining(`already recorded for order ${first}`),
  });
  expect(await createOrdersRepository(pool).findOrder(second)).toMatchObject({ status: 'PENDING', paid: false });
  const unknown = randomUUID();
  await expect(acceptance()(pay(paymentEvent(unknown, { amount: 2500, currency: 'eur' })))).rejects.toMatchObject({
    type: FailureType.OrderNotFound,
    message: `Order ${unknown} is not in the database`,
  });
});
