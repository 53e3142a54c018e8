import { FailureType, orderFailure, orderNotFoundMessage, type Rejection } from '../orders/errors';
import type { NewOrder, OrdersRepository } from '../db/orders-repository';
import type { OrderStatus, OrderWithItems, PaymentSession } from '../orders/types';

/** The workflow's writes to PostgreSQL; each is idempotent, so a retried activity changes nothing more. */
export function createPersistenceActivities({ orders }: { orders: OrdersRepository }) {
  return {
    /** The stored order with its checkout and the payments already recorded for it. */
    async loadOrder(
      orderId: string,
    ): Promise<{ order: OrderWithItems; paymentSession: PaymentSession | null; paymentIds: string[] }> {
      const order = await orders.findOrder(orderId);
      if (order === null) {
        throw orderFailure(FailureType.OrderNotFound, orderNotFoundMessage(orderId));
      }
      const [paymentSession, paymentIds] = await Promise.all([
        orders.findPaymentSession(orderId),
        orders.findPaymentIds(orderId),
      ]);
      return { order, paymentSession, paymentIds };
    },
    persistOrder: (order: NewOrder): Promise<OrderWithItems> => orders.insertOrder(order),
    savePaymentSession: (orderId: string, session: PaymentSession): Promise<void> =>
      orders.savePaymentSession(orderId, session),
    setOrderStatus: (orderId: string, status: OrderStatus): Promise<OrderWithItems> =>
      orders.setStatus(orderId, status),
    fillReceipt: (orderId: string, stripePaymentId: string, receiptUrl: string): Promise<OrderWithItems> =>
      orders.fillReceipt(orderId, stripePaymentId, receiptUrl),
    /** Cancels an order whose placement ended for good, keeping why (answered to retries of its create). */
    rejectOrder: (orderId: string, rejection: Rejection): Promise<OrderWithItems> =>
      orders.rejectOrder(orderId, rejection),
  };
}
