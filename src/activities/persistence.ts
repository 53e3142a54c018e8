import type { NewOrder, OrdersRepository, PaymentOutcome } from '../db/orders-repository';
import type { OrderStatus, OrderWithItems, PaymentSession, PaymentSucceeded } from '../orders/types';

/** The workflow's writes to PostgreSQL; each is idempotent, so a retried activity changes nothing more. */
export function createPersistenceActivities({ orders }: { orders: OrdersRepository }) {
  return {
    persistOrder: (order: NewOrder): Promise<OrderWithItems> => orders.insertOrder(order),
    savePaymentSession: (orderId: string, session: PaymentSession): Promise<void> => orders.savePaymentSession(orderId, session),
    recordPayment: (payment: PaymentSucceeded, outcome: PaymentOutcome): Promise<OrderWithItems> =>
      orders.recordPayment(payment, outcome),
    setOrderStatus: (orderId: string, status: OrderStatus): Promise<OrderWithItems> => orders.setStatus(orderId, status),
  };
}
