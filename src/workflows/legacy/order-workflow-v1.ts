/**
 * FROZEN: OrderWorkflow as it ran before the `local-activities` patch (remote activities, one
 * workflow task per step). Orders started by that code still run here until they close; do not
 * change a command in this file, or their histories stop replaying (test/replay.test.ts). Delete
 * it once no such order is open: `temporal workflow count --query 'ExecutionStatus="Running"'`
 * over orders started before the deploy, then `deprecatePatch`.
 */
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { OrderActivities } from '../../activities';
import { FailureType, NON_RETRYABLE_FAILURES } from '../../orders/errors';
import { checkRequestedTransition, isFinal } from '../../orders/lifecycle';
import {
  changeStatusUpdate,
  getOrderQuery,
  OrderStatusAttribute,
  OrderTotalAttribute,
  paymentSucceededSignal,
  placeOrderUpdate,
  type OrderWorkflowInput,
  type OrderWorkflowResult,
} from '../../orders/workflow-api';
import { ORDER_STATUSES } from '../../orders/types';
import type { OrderStatus, OrderWithItems, PaymentSession, PaymentSucceeded } from '../../orders/types';
import { failure, placementFailure } from '../failures';

const retryOutages = {
  initialInterval: '500 milliseconds',
  backoffCoefficient: 2,
  nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
};

// Writes of an order that exists must happen eventually: retried until the database is back.
const durableActivities = proxyActivities<OrderActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { ...retryOutages, maximumInterval: '1 minute' },
});

// Nice to have, never worth holding an order up for.
const bestEffortActivities = proxyActivities<OrderActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { ...retryOutages, maximumInterval: '5 seconds', maximumAttempts: 3 },
});

type Command =
  { kind: 'payment'; payment: PaymentSucceeded } | { kind: 'changeStatus'; status: OrderStatus; reply: Reply };

interface Reply {
  settled: boolean;
  order?: OrderWithItems;
  failure?: ApplicationFailure;
}

/**
 * One order, from placement to delivery or cancellation. Every change to the order after it is
 * stored goes through the inbox below, one at a time, so payments and status changes never race.
 */
export async function orderWorkflowV1(input: OrderWorkflowInput): Promise<OrderWorkflowResult> {
  // Outages of peers are retried with backoff while the caller may still be waiting; after that
  // the order is rejected (nothing stored) or cancelled (stored, but it cannot be paid).
  const placementActivities = proxyActivities<OrderActivities>({
    startToCloseTimeout: '10 seconds',
    scheduleToCloseTimeout: input.placementTimeoutMs,
    retry: { ...retryOutages, maximumInterval: '30 seconds' },
  });
  const startedAt = Date.now();
  let order: OrderWithItems | null = null;
  let paymentSession: PaymentSession | null = null;
  let rejection: ApplicationFailure | null = null;
  const inbox: Command[] = [];
  const seenPayments = new Set<string>();

  setHandler(getOrderQuery, () => order);

  setHandler(placeOrderUpdate, async () => {
    await condition(() => rejection !== null || paymentSession !== null);
    if (rejection !== null) throw rejection;
    return { order: order as OrderWithItems, paymentSession: paymentSession as PaymentSession };
  });

  setHandler(paymentSucceededSignal, (payment) => {
    inbox.push({ kind: 'payment', payment });
  });

  setHandler(
    changeStatusUpdate,
    async (status) => {
      const reply: Reply = { settled: false };
      inbox.push({ kind: 'changeStatus', status, reply });
      await condition(() => reply.settled);
      if (reply.failure) throw reply.failure;
      return reply.order as OrderWithItems;
    },
    {
      // Rejected here, a bad request never enters the history.
      validator: (status: OrderStatus) => {
        if (!ORDER_STATUSES.includes(status)) {
          throw failure(FailureType.InvalidInput, `status must be one of ${ORDER_STATUSES.join(', ')}`);
        }
        if (order === null) {
          throw failure(FailureType.OrderNotFound, `Order with id ${input.orderId} not found`);
        }
        // The transition itself is checked in the inbox, against the state after earlier messages
        // (a payment being recorded right now) have been applied.
      },
    },
  );

  // A closure, so TypeScript does not narrow `order` across the awaits that change it.
  const isPlaced = (): boolean => order !== null;
  const currentOrder = (): OrderWithItems => {
    if (order === null) throw new Error(`order ${input.orderId} is not placed`);
    return order;
  };

  const publishState = (current: OrderWithItems): void => {
    order = current;
    upsertSearchAttributes([
      { key: OrderStatusAttribute, value: current.status },
      { key: OrderTotalAttribute, value: current.totalAmount },
    ]);
  };

  // A payment arrived after this order's workflow had closed: pick the order up where it was.
  const resume = async (): Promise<void> => {
    const stored = await durableActivities.loadOrder(input.orderId);
    stored.paymentIds.forEach((id) => seenPayments.add(id));
    publishState(stored.order);
    paymentSession = stored.paymentSession;
    if (paymentSession === null)
      rejection = failure(FailureType.OrderNotFound, `Order ${input.orderId} has no payment session`);
  };

  // Validate, store, open the checkout. Nothing is stored if validation fails.
  const place = async (): Promise<void> => {
    try {
      const items = await placementActivities.validateProducts(input.items);
      publishState(await durableActivities.persistOrder({ orderId: input.orderId, currency: input.currency, items }));
      try {
        const session = await placementActivities.createPaymentSession({
          orderId: input.orderId,
          currency: input.currency,
          items,
        });
        await durableActivities.savePaymentSession(input.orderId, session);
        paymentSession = session;
      } catch (error) {
        // The order exists but cannot be paid: cancel it rather than leave it PENDING for ever.
        log.warn('payment session failed; cancelling the order', { orderId: input.orderId });
        publishState(await durableActivities.setOrderStatus(input.orderId, 'CANCELLED'));
        rejection = placementFailure(
          error,
          FailureType.PaymentSessionFailed,
          `The payment session for order ${input.orderId} could not be created; the order was cancelled`,
        );
      }
    } catch (error) {
      rejection = placementFailure(error, FailureType.ServiceUnavailable, 'The products service is unavailable');
    }
  };

  // 1. Placement (or resumption).
  if (input.resume) await resume();
  else await place();
  if (!isPlaced()) {
    await condition(allHandlersFinished);
    return 'REJECTED';
  }

  // 2. Follow the order: apply payments and status changes in arrival order.
  const applyPayment = async (current: OrderWithItems, payment: PaymentSucceeded): Promise<void> => {
    if (seenPayments.has(payment.stripePaymentId)) return;
    seenPayments.add(payment.stripePaymentId);
    if (current.status === 'PENDING') {
      publishState(await durableActivities.recordPayment(payment, 'APPLIED'));
      return;
    }
    // Paid twice, or paid after cancellation: keep the money on record and ask for a refund.
    publishState(await durableActivities.recordPayment(payment, 'REFUND_REQUESTED'));
    await durableActivities.requestRefund({
      orderId: input.orderId,
      stripePaymentId: payment.stripePaymentId,
      reason: `payment received for a ${current.status} order`,
    });
  };

  // Best effort: a cancelled order's checkout is closed so the customer cannot pay it any more;
  // if that fails, a payment that still arrives is recorded and refunded.
  const expireCheckout = async (): Promise<void> => {
    const sessionId = paymentSession?.sessionId;
    if (typeof sessionId !== 'string') return;
    try {
      const outcome = await bestEffortActivities.expirePaymentSession({ orderId: input.orderId, sessionId });
      log.info('checkout session expiry', { orderId: input.orderId, ...outcome });
    } catch (error) {
      log.warn('checkout session could not be expired', { orderId: input.orderId, error: String(error) });
    }
  };

  const changeStatus = async (current: OrderWithItems, status: OrderStatus): Promise<OrderWithItems> => {
    const check = checkRequestedTransition(current.status, status);
    if (check.kind === 'unchanged') return current;
    if (check.kind === 'forbidden') throw failure(FailureType.ForbiddenTransition, check.message);
    // Orders cancelled before this change did not expire their checkout; their histories replay.
    if (status === 'CANCELLED' && current.status === 'PENDING' && patched('expire-checkout-on-cancel')) {
      await expireCheckout();
    }
    publishState(await durableActivities.setOrderStatus(input.orderId, status));
    if (status === 'CANCELLED' && current.status === 'PAID' && current.stripeChargeId !== null) {
      await durableActivities.requestRefund({
        orderId: input.orderId,
        stripePaymentId: current.stripeChargeId,
        reason: 'order cancelled after payment',
      });
    }
    return currentOrder();
  };

  const hasMail = (): boolean => inbox.length > 0;
  for (;;) {
    const current = currentOrder();
    let arrived = true;
    if (current.status === 'PENDING') {
      arrived = await condition(hasMail, Math.max(0, startedAt + input.paymentWindowMs - Date.now()));
    } else if (isFinal(current.status)) {
      arrived = await condition(hasMail, input.latePaymentGraceMs);
    } else {
      await condition(hasMail);
    }
    if (!arrived) {
      if (current.status !== 'PENDING') break;
      log.info('payment window ended; cancelling the order', { orderId: input.orderId });
      await changeStatus(current, 'CANCELLED');
      continue;
    }

    const command = inbox.shift() as Command;
    if (command.kind === 'payment') {
      await applyPayment(current, command.payment);
      continue;
    }
    try {
      command.reply.order = await changeStatus(current, command.status);
    } catch (error) {
      if (!(error instanceof ApplicationFailure)) throw error;
      command.reply.failure = error;
    }
    command.reply.settled = true;
  }

  await condition(allHandlersFinished);
  return currentOrder().status;
}
