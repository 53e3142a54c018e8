import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { FailureType, orderNotFoundMessage } from '../orders/errors';
import { isFinal } from '../orders/lifecycle';
import {
  changeStatusUpdate,
  getOrderQuery,
  paymentSucceededSignal,
  paymentWindowEndedSignal,
  placeOrderUpdate,
  OrderStatusAttribute,
  REJECTED_ORDER_STATUS,
  type OrderWorkflowInput,
  type OrderWorkflowResult,
} from '../orders/workflow-api';
import { ORDER_STATUSES, type OrderStatus } from '../orders/types';
import { activityProxies } from './activity-proxies';
import { nextRunInput, runIsLong } from './continue-as-new';
import { failure } from './failures';
import { Inbox } from './inbox';
import { Order, type Placement } from './order';
import { paymentSignalProblem } from './payment-signal';
import { listeningTimeMs } from './payment-window';

export type { OrderWorkflowInput, OrderWorkflowResult } from '../orders/workflow-api';

/**
 * One order, from placement to delivery or cancellation. Every change to the order after it is
 * stored goes through the inbox, one at a time, so payments and status changes never race.
 */
export async function OrderWorkflow(input: OrderWorkflowInput): Promise<OrderWorkflowResult> {
  const { orderId, start } = input;
  if (typeof start !== 'object') {
    // Started by a build before 1.0 (its input has no start mode): not failed, the task waits for
    // a worker of that build, which the drain keeps running (docs/upgrades.md).
    throw new Error(`order ${orderId} was started before 1.0: drain it on a 0.x worker (docs/upgrades.md)`);
  }
  const deadline = start.kind === 'place' ? start.deadline : null;
  const order = new Order(input, activityProxies(input.placementTimeoutMs, deadline));
  const inbox = new Inbox();
  const notFound = () => failure(FailureType.OrderNotFound, orderNotFoundMessage(orderId));
  // Before the handlers: messages buffered for a continued run are validated as they are set.
  let placement: Placement | null = start.kind === 'continue' ? order.restore(start.carried) : null;

  setHandler(getOrderQuery, () => order.current);
  setHandler(placeOrderUpdate, async () => {
    await condition(() => placement !== null);
    return order.created(placement as Placement);
  });
  setHandler(paymentSucceededSignal, (payment) => {
    // Checked before it is queued: a malformed or foreign signal never reaches an activity.
    const problem = paymentSignalProblem(payment, orderId);
    if (problem === null) inbox.postPayment(payment);
    else log.warn('payment signal dropped', { orderId, problem });
  });
  setHandler(paymentWindowEndedSignal, () => inbox.postPaymentWindowEnded());
  setHandler(changeStatusUpdate, (status) => inbox.requestStatusChange(status), {
    // Rejected here, a bad request never enters the history. The transition itself is checked
    // in the inbox, against the state after earlier messages have been applied.
    validator: (status: OrderStatus) => {
      if (!ORDER_STATUSES.includes(status)) {
        throw failure(FailureType.InvalidInput, `status must be one of ${ORDER_STATUSES.join(', ')}`);
      }
      // A resumed order is being read back from PostgreSQL: its change waits in the inbox meanwhile.
      if (order.current === null && start.kind !== 'resume') throw notFound();
    },
  });

  if (placement === null) placement = start.kind === 'place' ? await order.place(start) : await order.resume();
  if (order.current === null) {
    // Nothing was stored. Only a resumed order can have accepted changes by now; they cannot apply.
    inbox.refuseAll(notFound);
    upsertSearchAttributes([{ key: OrderStatusAttribute, value: REJECTED_ORDER_STATUS }]);
    setCurrentDetails(`**Status:** ${REJECTED_ORDER_STATUS}\n**Last change:** placement failed, nothing stored`);
    await condition(allHandlersFinished);
    return 'REJECTED';
  }

  for (;;) {
    if (!inbox.hasMail && runIsLong(inbox.handled, input)) {
      // A message arriving meanwhile is handled first (its update may be what is still running).
      await condition(() => allHandlersFinished() || inbox.hasMail);
      if (!inbox.hasMail) {
        log.info('continuing as new', { orderId, handled: inbox.handled });
        await continueAsNew<typeof OrderWorkflow>(nextRunInput(input, order.carry()));
      }
    }
    const { status } = order;
    // Updates are not mail: repeated creates of one order grow its history too, so Temporal's
    // suggestion to continue as new wakes the loop as well.
    if (await inbox.waitForMail(listeningTimeMs(status, input), () => workflowInfo().continueAsNewSuggested)) {
      await order.handle(inbox.take());
    } else if (isFinal(status)) break;
  }

  await condition(allHandlersFinished);
  return order.status;
}
