import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Config } from '../src/config';
import { createOrdersRepository } from '../src/db/orders-repository';
import { closeDatabasePool, createDatabasePool } from '../src/db/pool';
import { placementDeadline } from '../src/gateway/order-handlers';
import { pricedItems, toMinorUnits } from '../src/orders/money';
import { signPayment } from '../src/security/payment-signature';
import { workerActivities } from '../src/worker/worker-activities';
import { summarize } from './stats';

/**
 * The activities an order's workflow runs, one after another as it runs them, timed from the bench
 * process on the running stack with the worker's own code and the service's configuration: what a
 * create and a payment wait for beyond what an empty workflow of the same shape does. Inside each
 * activity, its NATS requests (by subject) and PostgreSQL statements (by repository method) are
 * timed too. Keyed creates, or keyless ones (`--keyless`) with the deadline the gateway would set.
 */

export interface TimedCall {
  name: string;
  p50Ms: number | null;
  count: number;
}

export interface TimedActivity extends TimedCall {
  /** What the activity waited for inside: NATS requests and PostgreSQL statements, in order. */
  calls: TimedCall[];
}

export interface OrderCallsResult {
  rounds: number;
  keyless: boolean;
  /** Items per create (the demo catalogue's products 1 and 2, one each). */
  lines: number;
  create: TimedActivity[];
  payment: TimedActivity[];
}

/** Two lines of the demo catalogue; the bench's creates have one to three. */
const ITEMS = [
  { productId: 1, quantity: 1 },
  { productId: 2, quantity: 1 },
];
/** The gateway's own step before a keyless create's placement. */
const GATEWAY_CLOCK = "the gateway's read of the database clock";

const insideKey = (activity: string, call: string): string => `${activity}\u0000${call}`;

/** Samples by name (a call inside an activity by both), in the order names were first seen. */
class Timings {
  private readonly samples = new Map<string, number[]>();
  private readonly inside = new Map<string, Set<string>>();
  private current: string | null = null;
  measuring = false;

  /** Runs `call` as activity `name`, timing it and what it calls. */
  async activity<T>(name: string, call: () => Promise<T>): Promise<T> {
    this.current = name;
    try {
      return await this.time(name, call);
    } finally {
      this.current = null;
    }
  }

  async time<T>(name: string, call: () => Promise<T>, start = performance.now()): Promise<T> {
    // A call inside an activity is kept under the activity's name and its own.
    const key = this.current !== null && this.current !== name ? insideKey(this.current, name) : name;
    if (key !== name)
      this.inside.set(this.current as string, (this.inside.get(this.current as string) ?? new Set()).add(name));
    const result = await call();
    if (this.measuring) this.samples.set(key, [...(this.samples.get(key) ?? []), performance.now() - start]);
    return result;
  }

  /** `target` with each method that returns a promise timed under `label(method, args)`. */
  timed<T extends object>(target: T, label: (method: string, args: unknown[]) => string): T {
    return new Proxy(target, {
      get: (object, key) => {
        const value: unknown = Reflect.get(object, key);
        if (typeof value !== 'function' || typeof key !== 'string') return value;
        const method = (value as (...args: unknown[]) => unknown).bind(object);
        return (...args: unknown[]) => {
          const start = performance.now();
          const result = method(...args);
          return result instanceof Promise ? this.time(label(key, args), () => result, start) : result;
        };
      },
    });
  }

  summary(name: string): TimedActivity {
    const call = (callName: string, key = callName): TimedCall => {
      const list = this.samples.get(key) ?? [];
      return { name: callName, p50Ms: summarize(list).p50, count: list.length };
    };
    return {
      ...call(name),
      calls: [...(this.inside.get(name) ?? [])].map((callName) => call(callName, insideKey(name, callName))),
    };
  }
}

export async function measureOrderCalls(deps: {
  nats: NatsConnection;
  databaseUrl: string;
  /** The service's configuration as its worker reads it. */
  config: Config;
  rounds: number;
  keyless: boolean;
}): Promise<OrderCallsResult> {
  const { config } = deps;
  const timings = new Timings();
  const pool = await createDatabasePool(deps.databaseUrl);
  try {
    const orders = timings.timed(createOrdersRepository(pool), (method) => `PostgreSQL ${method}`);
    const nats = timings.timed(deps.nats, (method, args) =>
      method === 'request' ? `NATS ${String(args[0])}` : `NATS ${method}`,
    );
    const activities = workerActivities({ pool, nats, config, orders });
    // A few rounds first, unmeasured: connections, JIT.
    const warmup = Math.min(10, deps.rounds);
    for (let round = 0; round < warmup + deps.rounds; round += 1) {
      timings.measuring = round >= warmup;
      const orderId = randomUUID();
      // A keyless create's deadline, on the database's clock, as the gateway reads it.
      const deadline = deps.keyless
        ? {
            deadline: placementDeadline(
              config.orders.createTimeoutMs,
              await timings.activity(GATEWAY_CLOCK, () => orders.databaseNow()),
            ).at,
          }
        : {};
      const { currency, paymentWindowMs } = config.orders;
      const stored = await timings.activity('placeOrder', () =>
        activities.placeOrder({ orderId, currency, items: ITEMS, ...deadline }),
      );
      await timings.activity('openCheckout', () =>
        activities.openCheckout({
          orderId,
          currency,
          items: pricedItems(stored),
          paymentWindowEndsAt: Date.now() + paymentWindowMs,
          ...deadline,
        }),
      );
      const payment = {
        stripePaymentId: `pi_bench_calls_${orderId.replace(/-/g, '')}`,
        orderId,
        receiptUrl: null,
        amount: toMinorUnits(stored.totalAmount, stored.currency),
        currency: stored.currency,
      };
      const accepted = await timings.activity('acceptPayment', () =>
        activities.acceptPayment({
          orderId,
          payment: signPayment(payment, config.paymentTrust.signingKey),
          use: { kind: 'pay' },
        }),
      );
      // Timed only as the worker pays an order: a refusal (a worker verifying with Stripe, which
      // stripe-mock cannot confirm) would time another path.
      if (accepted.kind !== 'recorded' || accepted.outcome !== 'APPLIED') {
        throw new Error(`the payment of ${orderId} was not applied: ${JSON.stringify(accepted)}`);
      }
    }
    return {
      rounds: deps.rounds,
      keyless: deps.keyless,
      lines: ITEMS.length,
      create: [
        ...(deps.keyless ? [timings.summary(GATEWAY_CLOCK)] : []),
        timings.summary('placeOrder'),
        timings.summary('openCheckout'),
      ],
      payment: [timings.summary('acceptPayment')],
    };
  } finally {
    await closeDatabasePool(pool);
  }
}
