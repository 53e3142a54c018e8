import type { RpcError } from '../rpc-error';
import { FailureType } from '../orders/errors';
import type { OrderItem, RequestedItem } from '../orders/types';
import { toWireError } from './wire-errors';

/**
 * The same idempotencyKey must name the same order: the same products in the same quantities
 * (after merging repeated lines, in any order). Anything else is a reused key, refused with a 422
 * naming it, as Stripe refuses an idempotency key reused with other parameters.
 */
export function sameItems(
  stored: ReadonlyArray<Pick<OrderItem, 'productId' | 'quantity'>>,
  requested: readonly RequestedItem[],
): boolean {
  if (stored.length !== requested.length) return false;
  const quantities = new Map(stored.map((item) => [String(item.productId), item.quantity]));
  return requested.every((item) => quantities.get(String(item.productId)) === item.quantity);
}

export const idempotencyKeyReused = (key: string, orderId: string): RpcError =>
  toWireError(
    FailureType.IdempotencyKeyReused,
    `idempotencyKey "${key}" was already used for order ${orderId} with other items; use a new key for a different order`,
    { idempotencyKey: key, orderId },
  );

/** Throws the 422 when an order placed under `key` holds other items than this request. */
export function checkSameItems(
  key: string | undefined,
  order: { id: string; OrderItems: ReadonlyArray<Pick<OrderItem, 'productId' | 'quantity'>> },
  requested: readonly RequestedItem[],
): void {
  if (key !== undefined && !sameItems(order.OrderItems, requested)) throw idempotencyKeyReused(key, order.id);
}
