import {
  condition,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { OrderStatusAttribute, OrderTotalAttribute, PaymentIdAttribute } from '../../src/orders/workflow-api';
import type { EmptyActivities } from './empty-activities';
import { emptyPaymentSucceededSignal, emptyPlaceOrderUpdate, type EmptyPayment } from './empty-messages';

const remote = proxyActivities<EmptyActivities>({ startToCloseTimeout: '10 seconds' });
const local = proxyLocalActivities<EmptyActivities>({ startToCloseTimeout: '10 seconds' });

/**
 * Floor 2: the shape of an order with nothing in it. Started with Update-with-Start; the update
 * returns once three activities (standing for validate, persist, checkout session) have run; then a
 * payment signal, one more activity (which records PAID), and it waits for ever like a paid order.
 * Its activities are normal (remote) activities, or local ones when the bench runs with
 * `--empty-activities local`. As the bench's system `empty-sa` it is started with the service's
 * `OrderStatus` and upserts the paid order's status, total and payment id, as the service's does.
 */
export async function EmptyOrderWorkflow(input: {
  orderId: string;
  localActivities?: boolean;
  searchAttributes?: boolean;
}): Promise<void> {
  const activities = input.localActivities ? local : remote;
  let placed = false;
  let payment: EmptyPayment | undefined;
  setHandler(emptyPlaceOrderUpdate, async () => {
    await condition(() => placed);
    return {
      order: { id: input.orderId, status: 'PENDING' as const },
      paymentSession: { url: `https://example.test/pay/${input.orderId}` },
    };
  });
  setHandler(emptyPaymentSucceededSignal, (received) => {
    payment ??= received;
  });

  await activities.first(input.orderId);
  await activities.second(input.orderId);
  await activities.third(input.orderId);
  placed = true;
  await condition(() => payment !== undefined);
  await activities.markPaid(input.orderId);
  if (input.searchAttributes && payment !== undefined) {
    upsertSearchAttributes([
      { key: OrderStatusAttribute, value: 'PAID' },
      { key: OrderTotalAttribute, value: 1 },
      { key: PaymentIdAttribute, value: payment.stripePaymentId },
    ]);
  }
  await condition(() => false);
}
