import { setTimeout as sleep } from 'node:timers/promises';
import { isDatabaseUnavailable } from '../db/unavailable';
import type { OrdersRepository } from '../db/orders-repository';
import { FailureType, orderFailure } from '../orders/errors';
import type { OrderWithItems, PaymentSession, PricedItem, RequestedItem } from '../orders/types';
import type { createPaymentActivities } from './payments';
import type { createPersistenceActivities } from './persistence';
import type { createProductActivities } from './products';

interface PlacementActivityDeps {
  products: ReturnType<typeof createProductActivities>;
  persistence: ReturnType<typeof createPersistenceActivities>;
  payments: ReturnType<typeof createPaymentActivities>;
  /** The deadline's clock and the writes bounded by it (keyless creates). */
  orders: Pick<OrdersRepository, 'placementTimeLeft' | 'insertOrderBefore' | 'savePaymentSessionBefore'>;
}

/**
 * Epoch ms on the database's clock (the gateway reads it there too, so no two machines' clocks are
 * compared) after which a keyless create's placement starts no step and stores nothing more.
 */
type Deadline = number | undefined;

const timedOut = (orderId: string) =>
  orderFailure(FailureType.PlacementTimedOut, `placement of order ${orderId} passed its deadline`);

/**
 * A database that cannot answer is an outage the workflow retries (its error kept as the cause, which
 * the worker's "Activity failed" line shows); anything else is rethrown.
 */
async function orDatabaseUnavailable<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (!isDatabaseUnavailable(error)) throw error;
    throw orderFailure(FailureType.DatabaseUnavailable, 'The database is unavailable', undefined, error as Error);
  }
}

/**
 * Placement in two steps, each one local activity that is safe to repeat: the order is stored only
 * once every product is known, and its checkout is recorded as soon as the payments service opened
 * it (two steps, so a stored order whose checkout fails is known stored, and cancelled). With a deadline (creates without an idempotencyKey) no
 * step starts, and nothing is stored or kept with the order, once it has passed on the database's
 * clock: the statements themselves refuse to commit after it, so an attempt the workflow abandoned
 * (timed out and retried) cannot store the order after the caller was told nothing was kept.
 */
/** How long settlePlacement waits in one attempt for the deadline (within its 10 s start-to-close). */
const SETTLE_WAIT_MS = 8_000;

export function createPlacementActivities({ products, persistence, payments, orders }: PlacementActivityDeps) {
  /** The time left before `deadline`, on the database's clock; unbounded without one. */
  const timeLeft = (deadline: Deadline): Promise<number> =>
    deadline === undefined
      ? Promise.resolve(Number.POSITIVE_INFINITY)
      : orDatabaseUnavailable(() => orders.placementTimeLeft(deadline));

  const steps = {
    /** Prices the requested lines with the products service, then stores the order. */
    placeOrder: async (order: {
      orderId: string;
      currency: string;
      items: RequestedItem[];
      deadline?: number;
    }): Promise<OrderWithItems> => {
      const { orderId, currency, deadline } = order;
      if (deadline === undefined) {
        const items = await products.validateProducts(order.items, currency);
        return orDatabaseUnavailable(() => persistence.persistOrder({ orderId, currency, items }));
      }
      const left = await timeLeft(deadline);
      // Past the deadline nothing more is stored, but an earlier attempt may have stored it before.
      const newOrder =
        left > 0 ? { orderId, currency, items: await products.validateProducts(order.items, currency, left) } : null;
      const stored = await orDatabaseUnavailable(() => orders.insertOrderBefore(orderId, newOrder, deadline));
      if (stored === null) throw timedOut(orderId);
      return stored;
    },

    /**
     * What a keyless create's placement left once `placeOrder` failed for good before its deadline
     * (attempts used up on an outage, the last one abandoned while still running): retryably not
     * yet while the deadline is ahead (the durable retry asks again), then the order an abandoned
     * attempt stored before the deadline, or null for nothing stored, and nothing ever will be.
     * For the workflow to cancel what was stored before it answers "nothing was kept".
     */
    settlePlacement: async (order: { orderId: string; deadline: number }): Promise<OrderWithItems | null> => {
      let left = await timeLeft(order.deadline);
      // Waited here, on the database's clock, when it is near: the caller is answered right after
      // the deadline, not after a retry's backoff that could outlast the caller's own timeout.
      if (left > 0 && left <= SETTLE_WAIT_MS) {
        await sleep(left + 1);
        left = await timeLeft(order.deadline);
      }
      if (left > 0) {
        throw orderFailure(
          FailureType.ServiceUnavailable,
          `placement of order ${order.orderId} is open for another ${Math.ceil(left)} ms`,
          true,
        );
      }
      return orDatabaseUnavailable(() => orders.insertOrderBefore(order.orderId, null, order.deadline));
    },

    /**
     * Opens the order's Stripe Checkout through the payments service and keeps it with the order;
     * an order that has a checkout already keeps it, and that one is the answer.
     */
    openCheckout: async (order: {
      orderId: string;
      currency: string;
      items: PricedItem[];
      /** When the order's payment window ends (epoch ms, the workflow's clock), kept with the checkout. */
      paymentWindowEndsAt: number;
      deadline?: number;
    }): Promise<PaymentSession> => {
      const { deadline, paymentWindowEndsAt, ...request } = order;
      const left = await timeLeft(deadline);
      if (left <= 0) throw timedOut(order.orderId);
      const session = await payments.createPaymentSession(request, left);
      if (deadline === undefined) return persistence.savePaymentSession(order.orderId, session, paymentWindowEndsAt);
      // The last step is bounded too: a checkout kept after the deadline would be an order the
      // caller was told is not kept.
      const kept = await orDatabaseUnavailable(() =>
        orders.savePaymentSessionBefore(order.orderId, session, paymentWindowEndsAt, deadline),
      );
      if (kept === null) throw timedOut(order.orderId);
      return kept;
    },
  };

  return steps;
}
