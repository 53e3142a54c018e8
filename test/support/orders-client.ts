import { randomUUID } from 'node:crypto';
import type { PlacedOrder } from '../../src/orders/workflow-api';
import type { OrderStatus, OrderWithItems, PaymentSucceeded } from '../../src/orders/types';
import { eventually } from './eventually';
import type { NestClient } from './nest-client';

/** A `payment.succeeded` payload as the payments service publishes it: a new payment unless `stripePaymentId` is given. */
export function paymentEvent(
  orderId: string,
  fields: Partial<Omit<PaymentSucceeded, 'orderId'>> = {},
): PaymentSucceeded {
  return { stripePaymentId: `pi_${randomUUID()}`, orderId, receiptUrl: null, ...fields };
}

/**
 * The orders service as a NestJS peer uses it. Subjects are spelled out, not imported: the tests
 * hold the service to the wire contract its NestJS callers rely on.
 */
export interface OrdersClient {
  /** `orders.create` with these items, plus e.g. an idempotencyKey. */
  place(items: unknown, extra?: Record<string, unknown>): Promise<PlacedOrder>;
  findOne(id: string): Promise<OrderWithItems>;
  changeStatus(id: string, status: OrderStatus): Promise<OrderWithItems>;
  /** Emits `payment.succeeded` for the order (a new payment unless one is given) and returns it. */
  pay(orderId: string, payment?: PaymentSucceeded): Promise<PaymentSucceeded>;
  /** Waits until `orders.find.one` answers the order with this status. */
  waitForStatus(id: string, status: OrderStatus, timeoutMs?: number): Promise<OrderWithItems>;
}

export function ordersClient(nest: NestClient): OrdersClient {
  const findOne = (id: string): Promise<OrderWithItems> => nest.send('orders.find.one', { id });
  return {
    place: (items, extra = {}) => nest.send('orders.create', { items, ...extra }),
    findOne,
    changeStatus: (id, status) => nest.send('orders.change.status', { id, status }),
    async pay(orderId, payment = paymentEvent(orderId)) {
      await nest.emit('payment.succeeded', payment);
      return payment;
    },
    waitForStatus: (id, status, timeoutMs) =>
      eventually(async () => {
        const order = await findOne(id);
        expect(order.status).toBe(status);
        return order;
      }, timeoutMs),
  };
}
