import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/nats-core';
import { createPaymentActivities } from '../src/activities/payments';
import { createPersistenceActivities } from '../src/activities/persistence';
import { createProductActivities } from '../src/activities/products';
import { createOrdersRepository } from '../src/db/orders-repository';
import { closeDatabasePool, createDatabasePool } from '../src/db/pool';
import { PAYMENTS_SUBJECTS, PRODUCTS_SUBJECTS } from '../src/nats/subjects';
import { round, summarize } from './stats';

/**
 * The calls an order of this service makes to its peers and to PostgreSQL, one after another as
 * the worker makes them, timed from the bench process on the running stack: what a create and a
 * payment wait for beyond what an empty workflow of the same shape does, whatever the worker.
 * Each call is the worker's own code (its activities and repository) with the service's defaults.
 */

export const ORDER_CALLS = {
  create: ['validate products', 'store order', 'open checkout', 'keep checkout'],
  payment: ['read payment and order', 'record payment'],
} as const;

export type OrderCallName = (typeof ORDER_CALLS)[keyof typeof ORDER_CALLS][number];

export interface OrderCallsResult {
  rounds: number;
  /** p50 of each call, in ms. */
  p50Ms: Record<OrderCallName, number | null>;
  /** Sum of the p50s of a create's calls and of a payment's. */
  createSumMs: number;
  paymentSumMs: number;
}

/** Two lines of the demo catalogue, as a bench create orders them. */
const ITEMS = [
  { productId: 1, quantity: 2 },
  { productId: 2, quantity: 1 },
];
const REQUEST_TIMEOUT_MS = 5_000;

export async function measureOrderCalls(deps: {
  nats: NatsConnection;
  databaseUrl: string;
  rounds: number;
}): Promise<OrderCallsResult> {
  const pool = await createDatabasePool(deps.databaseUrl);
  try {
    const orders = createOrdersRepository(pool);
    const persistence = createPersistenceActivities({ orders });
    const products = createProductActivities({
      nats: deps.nats,
      validateProductsSubject: PRODUCTS_SUBJECTS.validate,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    });
    const payments = createPaymentActivities({
      nats: deps.nats,
      createPaymentSessionSubject: PAYMENTS_SUBJECTS.createSession,
      expirePaymentSessionSubject: PAYMENTS_SUBJECTS.expireSession,
      identifyPaymentsSubject: undefined,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    });
    const samples = new Map<OrderCallName, number[]>();
    const timed = async <T>(name: OrderCallName, call: () => Promise<T>, measured: boolean): Promise<T> => {
      const start = performance.now();
      const result = await call();
      if (measured) samples.set(name, [...(samples.get(name) ?? []), performance.now() - start]);
      return result;
    };
    // A few rounds first, unmeasured: connections, JIT.
    const warmup = Math.min(10, deps.rounds);
    for (let round = 0; round < warmup + deps.rounds; round += 1) {
      const measured = round >= warmup;
      const orderId = randomUUID();
      const items = await timed('validate products', () => products.validateProducts(ITEMS, 'usd'), measured);
      const stored = await timed(
        'store order',
        () => persistence.persistOrder({ orderId, currency: 'usd', items }),
        measured,
      );
      const session = await timed(
        'open checkout',
        () => payments.createPaymentSession({ orderId, currency: 'usd', items }),
        measured,
      );
      await timed(
        'keep checkout',
        () => persistence.savePaymentSession(orderId, session, Date.now() + 3_600_000),
        measured,
      );
      const payment = {
        stripePaymentId: `pi_bench_calls_${orderId.replace(/-/g, '')}`,
        orderId,
        receiptUrl: null,
        amount: Math.round(stored.totalAmount * 100),
        currency: 'usd',
      };
      await timed(
        'read payment and order',
        () => orders.findPaymentAndOrder(payment.stripePaymentId, orderId),
        measured,
      );
      await timed('record payment', () => orders.recordPayment(payment, 'APPLIED', null), measured);
    }
    const p50Ms = Object.fromEntries(
      [...ORDER_CALLS.create, ...ORDER_CALLS.payment].map((name) => [name, summarize(samples.get(name) ?? []).p50]),
    ) as Record<OrderCallName, number | null>;
    const sum = (names: readonly OrderCallName[]): number =>
      round(names.reduce((total, name) => total + (p50Ms[name] ?? 0), 0));
    return {
      rounds: deps.rounds,
      p50Ms,
      createSumMs: sum(ORDER_CALLS.create),
      paymentSumMs: sum(ORDER_CALLS.payment),
    };
  } finally {
    await closeDatabasePool(pool);
  }
}
