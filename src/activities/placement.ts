import { isDatabaseUnavailable } from '../db/unavailable';
import { FailureType, orderFailure } from '../orders/errors';
import type { OrderWithItems, PaymentSession, PricedItem, RequestedItem } from '../orders/types';
import type { createPaymentActivities } from './payments';
import type { createPersistenceActivities } from './persistence';
import type { createProductActivities } from './products';

interface PlacementActivityDeps {
  products: ReturnType<typeof createProductActivities>;
  persistence: ReturnType<typeof createPersistenceActivities>;
  payments: ReturnType<typeof createPaymentActivities>;
}

/** Epoch ms after which a keyless create's placement starts no step and stores nothing more. */
type Deadline = number | undefined;

/** The time left before `deadline`, or a non-retryable PlacementTimedOut once it has passed. */
function timeLeft(orderId: string, deadline: Deadline): number {
  if (deadline === undefined) return Number.POSITIVE_INFINITY;
  const left = deadline - Date.now();
  if (left > 0) return left;
  throw orderFailure(FailureType.PlacementTimedOut, `placement of order ${orderId} passed its deadline`);
}

/**
 * Placement in two steps, each one local activity (one workflow activation) that is safe to repeat:
 * the order is stored only once every product is known, and its checkout is recorded as soon as
 * the payments service opened it. With a deadline (creates without an idempotencyKey) no step
 * starts, and no order is stored, once it has passed.
 */
export function createPlacementActivities({ products, persistence, payments }: PlacementActivityDeps) {
  return {
    /** Prices the requested lines with the products service, then stores the order. */
    async placeOrder(order: {
      orderId: string;
      currency: string;
      items: RequestedItem[];
      deadline?: number;
    }): Promise<OrderWithItems> {
      const items = await products.validateProducts(
        order.items,
        order.currency,
        timeLeft(order.orderId, order.deadline),
      );
      timeLeft(order.orderId, order.deadline);
      try {
        return await persistence.persistOrder({ orderId: order.orderId, currency: order.currency, items });
      } catch (error) {
        if (!isDatabaseUnavailable(error)) throw error;
        throw orderFailure(FailureType.DatabaseUnavailable, 'The database is unavailable');
      }
    },

    /** Opens the order's Stripe Checkout through the payments service and keeps it with the order. */
    async openCheckout(order: {
      orderId: string;
      currency: string;
      items: PricedItem[];
      deadline?: number;
    }): Promise<PaymentSession> {
      const { deadline, ...request } = order;
      const session = await payments.createPaymentSession(request, timeLeft(order.orderId, deadline));
      await persistence.savePaymentSession(order.orderId, session);
      return session;
    },
  };
}
