import type { Config } from '../config';
import type { OrderWithItems, RequestedItem } from '../orders/types';
import { orderWorkflowId, type OrderWorkflowInput, type PlacementDeadline } from '../orders/workflow-api';
import { resumedOrderMetadata, type OrderStartMetadata } from './workflow-metadata';

/** The OrderWorkflow's input, with the order settings this deployment is configured with. */
export function orderWorkflowInput(
  orderId: string,
  items: RequestedItem[],
  settings: Config['orders'],
  resume = false,
  placementDeadline?: PlacementDeadline,
): OrderWorkflowInput {
  return {
    orderId,
    items,
    currency: settings.currency,
    placementTimeoutMs: settings.placementTimeoutMs,
    paymentWindowMs: settings.paymentWindowMs,
    latePaymentGraceMs: settings.latePaymentGraceMs,
    messagesPerRun: settings.messagesPerRun,
    ...(resume ? { resume } : {}),
    ...(placementDeadline ? { placementDeadline } : {}),
  };
}

/**
 * How a closed order's workflow is started again from PostgreSQL (a late payment, a status change,
 * an ended payment window): its id, queue, a resuming input and what the Web UI shows of it.
 */
export function resumedOrderStart(
  order: OrderWithItems,
  why: string,
  deps: { taskQueue: string; settings: Config['orders'] },
): { workflowId: string; taskQueue: string; args: [OrderWorkflowInput] } & OrderStartMetadata {
  return {
    workflowId: orderWorkflowId(order.id),
    taskQueue: deps.taskQueue,
    args: [orderWorkflowInput(order.id, [], deps.settings, true)],
    ...resumedOrderMetadata(order, why),
  };
}
