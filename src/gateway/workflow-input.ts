import type { Config } from '../config';
import type { OrderWithItems, RequestedItem } from '../orders/types';
import {
  orderWorkflowId,
  type OrderWorkflowInput,
  type PlaceStart,
  type PlacementDeadline,
  type StartMode,
} from '../orders/workflow-api';
import { resumedOrderMetadata, type OrderStartMetadata } from './workflow-metadata';

/** The OrderWorkflow's input, with the order settings this deployment is configured with. */
export function orderWorkflowInput(orderId: string, start: StartMode, settings: Config['orders']): OrderWorkflowInput {
  return {
    orderId,
    placementTimeoutMs: settings.placementTimeoutMs,
    paymentWindowMs: settings.paymentWindowMs,
    latePaymentGraceMs: settings.latePaymentGraceMs,
    messagesPerRun: settings.messagesPerRun,
    start,
  };
}

/**
 * A new order's start: its items in the deployment's currency. `deadline` is the caller's when it
 * gave no idempotencyKey (it cannot find its order again), null otherwise.
 */
export function placeStart(
  items: RequestedItem[],
  settings: Config['orders'],
  deadline: PlacementDeadline | null,
): PlaceStart {
  return { kind: 'place', items, currency: settings.currency, deadline };
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
    args: [orderWorkflowInput(order.id, { kind: 'resume' }, deps.settings)],
    ...resumedOrderMetadata(order, why),
  };
}
