import type { TypedSearchAttributes } from '@temporalio/common';
import { OrderStatusAttribute, OrderTotalAttribute, PaymentIdAttribute, type PlaceStart } from '../orders/workflow-api';
import type { OrderStatus } from '../orders/types';

/** What the Web UI shows and filters by for an order from the moment its workflow starts. */
export interface OrderStartMetadata {
  staticSummary: string;
  staticDetails: string;
  typedSearchAttributes: ConstructorParameters<typeof TypedSearchAttributes>[0];
}

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`;

/**
 * An order's summary and details (single-line Temporal markdown) and its first search attribute:
 * `OrderStatus` = "PENDING", given at start (free: an upsert is a billable action), so an order is
 * found from the moment it is being placed. The total is not known until the products service has
 * priced the items: the workflow's current details carry it, and `OrderTotal` comes with the
 * order's next status change; a placement that stores nothing ends as "REJECTED".
 */
export function orderStartMetadata(orderId: string, { items, currency }: PlaceStart): OrderStartMetadata {
  const lines = items.map(({ productId, quantity }) => `- ${quantity} x product ${productId}`);
  return {
    staticSummary: `Order ${orderId}: ${plural(items.length, 'item')}`,
    staticDetails: [
      `**Order:** ${orderId}`,
      `**Currency:** ${currency.toUpperCase()}`,
      `**Total:** priced by the products service during placement (see the current details)`,
      `**Items:**`,
      ...lines,
    ].join('\n'),
    typedSearchAttributes: [{ key: OrderStatusAttribute, value: 'PENDING' }],
  };
}

/**
 * A closed order's workflow started again from PostgreSQL, `why` (a late payment, a status
 * change): found by its stored status until the workflow has read the order back.
 */
export function resumedOrderMetadata(
  order: { id: string; status: OrderStatus; totalAmount: number; stripeChargeId: string | null },
  why: string,
): OrderStartMetadata {
  return {
    staticSummary: `Order ${order.id}: resumed for ${why}`,
    staticDetails: [
      `**Order:** ${order.id}`,
      `**Resumed for:** ${why}, after its workflow had closed`,
      `**Status when resumed:** ${order.status} (read back from PostgreSQL; see the current details)`,
    ].join('\n'),
    // As the order's last run left them: the workflow upserts only when its status changes.
    typedSearchAttributes: [
      { key: OrderStatusAttribute, value: order.status },
      { key: OrderTotalAttribute, value: order.totalAmount },
      ...(order.stripeChargeId !== null ? [{ key: PaymentIdAttribute, value: order.stripeChargeId }] : []),
    ],
  };
}
