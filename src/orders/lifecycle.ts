import type { OrderStatus } from './types';

/**
 * The order lifecycle: the transitions a caller may request. PAID is reached only by a payment,
 * never by a request, so it is not in the table.
 */
const REQUESTABLE: Record<OrderStatus, readonly OrderStatus[]> = {
  PENDING: ['CANCELLED'],
  PAID: ['DELIVERED', 'CANCELLED'],
  DELIVERED: [],
  CANCELLED: [],
};

export const FINAL_STATUSES: readonly OrderStatus[] = ['DELIVERED', 'CANCELLED'];

export function isFinal(status: OrderStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

export type TransitionCheck = { kind: 'unchanged' } | { kind: 'allowed' } | { kind: 'forbidden'; message: string };

/** Decides whether a caller may move an order from `from` to `to`. */
export function checkRequestedTransition(from: OrderStatus, to: OrderStatus): TransitionCheck {
  if (from === to) return { kind: 'unchanged' };
  if (REQUESTABLE[from].includes(to)) return { kind: 'allowed' };
  const why = to === 'PAID' ? ' (an order becomes PAID only through a payment)' : '';
  return { kind: 'forbidden', message: `Cannot change order status from ${from} to ${to}${why}` };
}
