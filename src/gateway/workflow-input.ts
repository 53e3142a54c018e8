import type { Config } from '../config';
import type { RequestedItem } from '../orders/types';
import type { OrderWorkflowInput, PlacementDeadline } from '../orders/workflow-api';

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
