import { FailureType, orderFailure, orderNotFoundMessage, type Rejection } from '../orders/errors';
import type { NewOrder, OrdersRepository } from '../db/orders-repository';
import type { OrderStatus, OrderWithItems, PaymentSession } from '../orders/types';

/** An order read back from PostgreSQL, for its workflow started again after it had closed. */
export interface StoredOrder {
  order: OrderWithItems;
  paymentSession: PaymentSession | null;
  paymentIds: string[];
  /** When its payment window ends (epoch ms), or null when it no longer ends. */
  paymentWindowEndsAt: number | null;
}

/** The workflow's writes to PostgreSQL; each is idempotent, so a retried activity changes nothing more. */
export function createPersistenceActivities({ orders }: { orders: OrdersRepository }) {
  return {
    /** The stored order with its checkout and the payments already recorded for it. */
    loadOrder: async (orderId: string): Promise<StoredOrder> => {
      const order = await orders.findOrder(orderId);
      if (order === null) {
        throw orderFailure(FailureType.OrderNotFound, orderNotFoundMessage(orderId));
      }
      const [paymentSession, paymentIds, paymentWindowEndsAt] = await Promise.all([
        orders.findPaymentSession(orderId),
        orders.findPaymentIds(orderId),
        orders.findPaymentWindowEnd(orderId),
      ]);
      return { order, paymentSession, paymentIds, paymentWindowEndsAt };
    },
    persistOrder: (order: NewOrder): Promise<OrderWithItems> => orders.insertOrder(order),
    savePaymentSession: (orderId: string, session: PaymentSession, windowEndsAt: number): Promise<PaymentSession> =>
      orders.savePaymentSession(orderId, session, windowEndsAt),
    /** The order's payment window no longer ends: the gateway stops signalling it. */
    keepPaymentWindowOpen: (orderId: string): Promise<void> => orders.keepPaymentWindowOpen(orderId),
    setOrderStatus: (orderId: string, status: OrderStatus): Promise<OrderWithItems> =>
      orders.setStatus(orderId, status),
    /** Cancels an order whose placement ended for good, keeping why (answered to retries of its create). */
    rejectOrder: (orderId: string, rejection: Rejection): Promise<OrderWithItems> =>
      orders.rejectOrder(orderId, rejection),
  };
}
