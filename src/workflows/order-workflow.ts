import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { OrderActivities } from '../activities';
import { FailureType, NON_RETRYABLE_FAILURES } from '../orders/errors';
import { isFinal } from '../orders/lifecycle';
import {
  changeStatusUpdate,
  getOrderQuery,
  paymentSucceededSignal,
  placeOrderUpdate,
  type OrderWorkflowInput,
  type OrderWorkflowResult,
} from '../orders/messages';
import { ORDER_STATUSES, type OrderStatus, type OrderWithItems, type PaymentSucceeded } from '../orders/types';
import { failure } from './failures';
import { orderWorkflowV1 } from './legacy/order-workflow-v1';
import { Order, type OrderActivityProxies } from './order';

export type { OrderWorkflowInput, OrderWorkflowResult } from '../orders/messages';

/**
 * Orders started before this patch ran every step as a remote activity; they finish on the frozen
 * code they started with. Local activities run inside the worker's workflow task, so placement is
 * one workflow task instead of seven hand-offs through the server.
 */
export const LOCAL_ACTIVITIES_PATCH = 'local-activities';

/**
 * Orders started after this patch (issue 8): keyless creates end at the caller's deadline, a
 * refused checkout is final (422), a window that ends while the customer pays waits for the
 * payment, late receipts are kept, one payment under two ids is one payment, and long-lived orders
 * continue as new. Orders started before it keep the commands they started with.
 */
export const PLACEMENT_HARDENING_PATCH = 'placement-hardening';

const INITIAL_INTERVAL_MS = 500;
const PLACEMENT_MAX_INTERVAL_MS = 30_000;
const retryOutages = {
  initialInterval: INITIAL_INTERVAL_MS,
  backoffCoefficient: 2,
  nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
};

/**
 * The attempts whose backoffs fit in `budgetMs`. The SDK's local activities do not stop retrying
 * when their scheduleToCloseTimeout passes, so placement is bounded by a number of attempts.
 */
export function attemptsWithin(budgetMs: number, maxIntervalMs = PLACEMENT_MAX_INTERVAL_MS): number {
  let attempts = 1;
  let waited = 0;
  let backoff = INITIAL_INTERVAL_MS;
  while (waited + backoff <= budgetMs) {
    waited += backoff;
    attempts += 1;
    backoff = Math.min(backoff * retryOutages.backoffCoefficient, maxIntervalMs);
  }
  return attempts;
}

/** How long a complete checkout's payment is awaited after the window, when the input does not say. */
const DEFAULT_CHECKOUT_COMPLETION_GRACE_MS = 5 * 60 * 1000;

/** Messages one run handles before it continues as new, when the input does not say. */
const DEFAULT_MESSAGES_PER_RUN = 1_000;

/** Keyless creates retry often and briefly: the activities stop at the caller's deadline. */
const KEYLESS_MAX_INTERVAL_MS = 1_000;

function activityProxies(input: OrderWorkflowInput, hardened: boolean): OrderActivityProxies {
  const keyless = hardened ? input.placementDeadline : undefined;
  return {
    // Outages of peers are retried while the caller may still be waiting; after that the order is
    // rejected (nothing stored) or cancelled (stored, but it cannot be paid). Keyless creates
    // retry often and briefly: the activities themselves stop at the caller's deadline.
    placement: proxyLocalActivities<OrderActivities>(
      keyless
        ? {
            startToCloseTimeout: '10 seconds',
            retry: {
              ...retryOutages,
              maximumInterval: KEYLESS_MAX_INTERVAL_MS,
              maximumAttempts: attemptsWithin(Math.min(input.placementTimeoutMs, keyless.callerTimeoutMs), KEYLESS_MAX_INTERVAL_MS),
            },
          }
        : {
            startToCloseTimeout: '10 seconds',
            scheduleToCloseTimeout: input.placementTimeoutMs,
            retry: {
              ...retryOutages,
              maximumInterval: PLACEMENT_MAX_INTERVAL_MS,
              maximumAttempts: attemptsWithin(input.placementTimeoutMs),
            },
          },
    ),
    durable: proxyLocalActivities<OrderActivities>({
      startToCloseTimeout: '10 seconds',
      retry: { ...retryOutages, maximumInterval: '1 minute' },
    }),
    bestEffort: proxyLocalActivities<OrderActivities>({
      startToCloseTimeout: '10 seconds',
      retry: { ...retryOutages, maximumInterval: '5 seconds', maximumAttempts: 3 },
    }),
  };
}

type Command =
  | { kind: 'payment'; payment: PaymentSucceeded }
  | { kind: 'changeStatus'; status: OrderStatus; reply: Reply };

interface Reply {
  settled: boolean;
  order?: OrderWithItems;
  failure?: ApplicationFailure;
}

/**
 * One order, from placement to delivery or cancellation. Every change to the order after it is
 * stored goes through the inbox, one at a time, so payments and status changes never race.
 */
export async function OrderWorkflow(input: OrderWorkflowInput): Promise<OrderWorkflowResult> {
  if (!patched(LOCAL_ACTIVITIES_PATCH)) return orderWorkflowV1(input);
  const hardened = patched(PLACEMENT_HARDENING_PATCH);

  const order = new Order(input, activityProxies(input, hardened), { hardened });
  const notFound = (): ApplicationFailure => failure(FailureType.OrderNotFound, `Order with id ${input.orderId} not found`);
  const inbox: Command[] = [];
  // Before the handlers: messages buffered for a continued run are validated as they are set.
  const carried = hardened ? input.carried : undefined;
  if (carried) order.restore(carried);

  setHandler(getOrderQuery, () => order.current);

  setHandler(placeOrderUpdate, async () => {
    await condition(() => order.placementSettled);
    return order.placedOrder();
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
      // Rejected here, a bad request never enters the history. The transition itself is checked
      // in the inbox, against the state after earlier messages have been applied.
      validator: (status: OrderStatus) => {
        if (!ORDER_STATUSES.includes(status)) {
          throw failure(FailureType.InvalidInput, `status must be one of ${ORDER_STATUSES.join(', ')}`);
        }
        // A resumed order is being read back from PostgreSQL: its change waits in the inbox meanwhile.
        if (!order.isPlaced && !input.resume) throw notFound();
      },
    },
  );

  const startedAt = Date.now();
  if (!carried) {
    if (input.resume) await order.resume();
    else await order.place();
  }
  if (!order.isPlaced) {
    // Only a resumed order can have accepted changes by now; without the order they cannot apply.
    for (const command of inbox.splice(0)) {
      if (command.kind === 'changeStatus') Object.assign(command.reply, { failure: notFound(), settled: true });
    }
    await condition(allHandlersFinished);
    return 'REJECTED';
  }

  const hasMail = (): boolean => inbox.length > 0;
  let windowEndsAt = carried?.windowEndsAt ?? startedAt + input.paymentWindowMs;
  let checkoutAsked = carried?.checkoutAsked ?? false;
  let handled = 0;
  const messagesPerRun = input.messagesPerRun ?? DEFAULT_MESSAGES_PER_RUN;
  for (;;) {
    // A long-lived order (PAID, never delivered) keeps its history short: between messages, with
    // nothing waiting, it continues as a new run carrying the order, its payment ids and session.
    if (hardened && inbox.length === 0 && (handled >= messagesPerRun || workflowInfo().continueAsNewSuggested)) {
      // A message arriving meanwhile is handled first (its update may be what is still running).
      await condition(() => allHandlersFinished() || hasMail());
      if (!hasMail()) {
        log.info('continuing as new', { orderId: input.orderId, handled });
        await continueAsNew<typeof OrderWorkflow>({
          ...input,
          items: [],
          resume: undefined,
          placementDeadline: undefined,
          carried: order.carry(windowEndsAt, checkoutAsked),
        });
      }
    }
    const { status } = order.placed();
    // PENDING waits for its payment window, DELIVERED and CANCELLED for late payments, PAID for ever.
    let arrived = true;
    if (status === 'PAID') await condition(hasMail);
    else if (status === 'PENDING') arrived = await condition(hasMail, Math.max(0, windowEndsAt - Date.now()));
    else arrived = await condition(hasMail, input.latePaymentGraceMs);
    if (!arrived) {
      if (isFinal(status)) break;
      if (hardened && !checkoutAsked) {
        checkoutAsked = true;
        // The customer may be paying right now: close the checkout, or learn that it is complete
        // and give its payment a bounded time to arrive rather than cancel and refund it.
        if ((await order.closeCheckout()) === 'complete') {
          log.info('payment window ended with the checkout complete; waiting for its payment', { orderId: input.orderId });
          windowEndsAt = Date.now() + (input.checkoutCompletionGraceMs ?? DEFAULT_CHECKOUT_COMPLETION_GRACE_MS);
          continue;
        }
      }
      log.info('payment window ended; cancelling the order', { orderId: input.orderId });
      await order.changeStatus('CANCELLED');
      continue;
    }
    const command = inbox.shift() as Command;
    handled += 1;
    if (command.kind === 'payment') {
      await order.applyPayment(command.payment);
      continue;
    }
    try {
      command.reply.order = await order.changeStatus(command.status);
    } catch (error) {
      if (!(error instanceof ApplicationFailure)) throw error;
      command.reply.failure = error;
    }
    command.reply.settled = true;
  }

  await condition(allHandlersFinished);
  return order.placed().status;
}
