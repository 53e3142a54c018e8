import { ApplicationFailure } from '@temporalio/activity';
import { isDatabaseUnavailable } from '../db/unavailable';
import { FailureType } from '../orders/errors';
import type { OrderWithItems, PaymentSession, PricedItem, RequestedItem } from '../orders/types';
import type { createPaymentActivities } from './payments';
import type { createPersistenceActivities } from './persistence';
import type { createProductActivities } from './products';

interface PlacementActivityDeps {
  products: ReturnType<typeof createProductActivities>;
  persistence: ReturnType<typeof createPersistenceActivities>;
  payments: ReturnType<typeof createPaymentActivities>;
}

/**
 * Placement in two steps, each one local activity (one workflow activation) that is safe to repeat:
 * the order is stored only once every product is known, and its checkout is recorded as soon as
 * the payments service opened it.
 */
export function createPlacementActivities({ products, persistence, payments }: PlacementActivityDeps) {
  return {
    /** Prices the requested lines with the products service, then stores the order. */
    async placeOrder(order: { orderId: string; currency: string; items: RequestedItem[] }): Promise<OrderWithItems> {
      const items = await products.validateProducts(order.items);
      try {
        return await persistence.persistOrder({ orderId: order.orderId, currency: order.currency, items });
      } catch (error) {
        if (!isDatabaseUnavailable(error)) throw error;
        throw ApplicationFailure.retryable('The database is unavailable', FailureType.DatabaseUnavailable);
      }
    },

    /** Opens the order's Stripe Checkout through the payments service and keeps it with the order. */
    async openCheckout(order: { orderId: string; currency: string; items: PricedItem[] }): Promise<PaymentSession> {
      const session = await payments.createPaymentSession(order);
      await persistence.savePaymentSession(order.orderId, session);
      return session;
    },
  };
}
