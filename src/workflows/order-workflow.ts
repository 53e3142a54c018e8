import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { FailureType, orderNotFoundMessage } from '../orders/errors';
import { isFinal } from '../orders/lifecycle';
import {
  changeStatusUpdate,
  getOrderQuery,
  paymentSucceededSignal,
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
import { orderWorkflowV1 } from './legacy/order-workflow-v1';
import { Order } from './order';
import { paymentSignalProblem } from './payment-signal';
import { listeningTimeMs, PaymentWindow } from './payment-window';

export type { OrderWorkflowInput, OrderWorkflowResult } from '../orders/workflow-api';

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

/**
 * Orders started after this patch believe a payment only once the worker has verified it (signed
 * by the gateway, this order's, not another order's, the order's amount and currency); a malformed
 * or foreign signal is dropped, never retried; a checkout found complete waits for its payment
 * however late it is. Orders started before it keep the commands they started with.
 */
export const VERIFIED_PAYMENTS_PATCH = 'verified-payments';

type CodeVersion = 'remote-activities' | 'local-activities' | 'hardened' | 'verified';

/**
 * The code an order started with, newest first. A new order records one patch marker, the newest
 * (each marker also costs a `TemporalChangeVersion` upsert, so two events per patch asked); an
 * older history has the marker of its own version, or none.
 */
function codeVersion(): CodeVersion {
  if (patched(VERIFIED_PAYMENTS_PATCH)) return 'verified';
  if (patched(PLACEMENT_HARDENING_PATCH)) return 'hardened';
  return patched(LOCAL_ACTIVITIES_PATCH) ? 'local-activities' : 'remote-activities';
}

/**
 * Orders started after this patch (issue 10) end with `OrderStatus` = "REJECTED" when placement
 * stored nothing, so the Web UI finds them (the gateway starts them as "PLACING"). Only that path
 * gains a command; a placed order's history is the same as before.
 */
export const UI_STORY_PATCH = 'ui-story';

/**
 * One order, from placement to delivery or cancellation. Every change to the order after it is
 * stored goes through the inbox, one at a time, so payments and status changes never race.
 */
export async function OrderWorkflow(input: OrderWorkflowInput): Promise<OrderWorkflowResult> {
  const version = codeVersion();
  if (version === 'remote-activities') return orderWorkflowV1(input);
  const verified = version === 'verified';
  const hardened = verified || version === 'hardened';

  const order = new Order(input, activityProxies(input, hardened), { hardened, verified });
  const inbox = new Inbox();
  const notFound = () => failure(FailureType.OrderNotFound, orderNotFoundMessage(input.orderId));
  // Before the handlers: messages buffered for a continued run are validated as they are set.
  const carried = hardened ? input.carried : undefined;
  if (carried) order.restore(carried);

  setHandler(getOrderQuery, () => order.current);
  setHandler(placeOrderUpdate, async () => {
    await condition(() => order.placementSettled);
    return order.placedOrder();
  });
  setHandler(paymentSucceededSignal, (payment) => {
    // Checked before it is queued: a malformed or foreign signal never reaches an activity.
    const problem = verified ? paymentSignalProblem(payment, input.orderId) : null;
    if (problem === null) inbox.postPayment(payment);
    else log.warn('payment signal dropped', { orderId: input.orderId, problem });
  });
  setHandler(changeStatusUpdate, (status) => inbox.requestStatusChange(status), {
    // Rejected here, a bad request never enters the history. The transition itself is checked
    // in the inbox, against the state after earlier messages have been applied.
    validator: (status: OrderStatus) => {
      if (!ORDER_STATUSES.includes(status)) {
        throw failure(FailureType.InvalidInput, `status must be one of ${ORDER_STATUSES.join(', ')}`);
      }
      // A resumed order is being read back from PostgreSQL: its change waits in the inbox meanwhile.
      if (!order.isPlaced && !input.resume) throw notFound();
    },
  });

  const window = PaymentWindow.open(input, carried);
  if (!carried) await (input.resume ? order.resume() : order.place());
  if (!order.isPlaced) {
    // Only a resumed order can have accepted changes by now; without the order they cannot apply.
    inbox.refuseAll(notFound);
    if (patched(UI_STORY_PATCH)) {
      upsertSearchAttributes([{ key: OrderStatusAttribute, value: REJECTED_ORDER_STATUS }]);
      setCurrentDetails(`**Status:** ${REJECTED_ORDER_STATUS}\n**Last change:** placement failed, nothing stored`);
    }
    await condition(allHandlersFinished);
    return 'REJECTED';
  }

  for (;;) {
    if (hardened && !inbox.hasMail && runIsLong(inbox.handled, input)) {
      // A message arriving meanwhile is handled first (its update may be what is still running).
      await condition(() => allHandlersFinished() || inbox.hasMail);
      if (!inbox.hasMail) {
        log.info('continuing as new', { orderId: input.orderId, handled: inbox.handled });
        await continueAsNew<typeof OrderWorkflow>(nextRunInput(input, order.carry(window)));
      }
    }
    const { status } = order.placed();
    if (await inbox.waitForMail(listeningTimeMs(status, window, input))) await order.handle(inbox.take());
    else if (isFinal(status)) break;
    else await order.endPaymentWindow(window);
  }

  await condition(allHandlersFinished);
  return order.placed().status;
}
