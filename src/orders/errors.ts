/**
 * Failure types shared by activities, the workflow and the gateway. Each maps to the HTTP-like
 * status a NestJS gateway shows its client. Types listed as non-retryable are bad input or a
 * state conflict: retrying cannot fix them.
 */
export const FailureType = {
  InvalidInput: 'InvalidInput',
  ProductsNotFound: 'ProductsNotFound',
  OrderNotFound: 'OrderNotFound',
  ForbiddenTransition: 'ForbiddenTransition',
  ServiceUnavailable: 'ServiceUnavailable',
  DatabaseUnavailable: 'DatabaseUnavailable',
  PaymentSessionFailed: 'PaymentSessionFailed',
  /** The payments service or Stripe refused the checkout for good (amount limits, currency). */
  CheckoutRefused: 'CheckoutRefused',
  /** A keyless create ran out of the caller's time: nothing of it is kept. */
  PlacementTimedOut: 'PlacementTimedOut',
} as const;

export type FailureType = (typeof FailureType)[keyof typeof FailureType];

export const STATUS_BY_FAILURE: Record<FailureType, number> = {
  InvalidInput: 400,
  ProductsNotFound: 400,
  OrderNotFound: 404,
  ForbiddenTransition: 409,
  ServiceUnavailable: 503,
  DatabaseUnavailable: 503,
  PaymentSessionFailed: 503,
  CheckoutRefused: 422,
  PlacementTimedOut: 503,
};

export const NON_RETRYABLE_FAILURES: FailureType[] = [
  FailureType.InvalidInput,
  FailureType.ProductsNotFound,
  FailureType.OrderNotFound,
  FailureType.ForbiddenTransition,
  FailureType.CheckoutRefused,
  FailureType.PlacementTimedOut,
];

/** Why placement ended an order for good, as stored with it and answered again on a retry. */
export interface Rejection {
  type: FailureType;
  message: string;
}

/** What the caller is told when the checkout of its order was refused for good. */
export function checkoutRefusedMessage(orderId: string, reason: string): string {
  return `The checkout for order ${orderId} was refused: ${reason}; the order was cancelled`;
}

/** What a caller without an idempotencyKey is told when its order could not be placed in time. */
export function placementTimedOutMessage(orderId: string, callerTimeoutMs: number): string {
  return `Order ${orderId} could not be placed within ${callerTimeoutMs} ms; nothing was kept, retry`;
}
