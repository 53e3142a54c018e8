import type { TypedSearchAttributes } from '@temporalio/common';
import { OrderStatusAttribute, PLACING_ORDER_STATUS, type OrderWorkflowInput } from '../orders/messages';

/** What the Web UI shows and filters by for an order from the moment its workflow starts. */
export interface OrderStartMetadata {
  staticSummary: string;
  staticDetails: string;
  typedSearchAttributes: ConstructorParameters<typeof TypedSearchAttributes>[0];
}

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`;

/**
 * An order's summary and details (single-line Temporal markdown) and its first search attributes:
 * `OrderStatus` = "PLACING", so orders still being placed are found too. The total is not known
 * until the products service has priced the items; the workflow's current details carry it.
 */
export function orderStartMetadata({ orderId, items, currency }: OrderWorkflowInput): OrderStartMetadata {
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
    typedSearchAttributes: [{ key: OrderStatusAttribute, value: PLACING_ORDER_STATUS }],
  };
}
