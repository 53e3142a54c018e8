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
  PlacementTimedOut: 503,
};

export const NON_RETRYABLE_FAILURES: FailureType[] = [
  FailureType.InvalidInput,
  FailureType.ProductsNotFound,
  FailureType.OrderNotFound,
  FailureType.ForbiddenTransition,
  FailureType.PlacementTimedOut,
];

/** What a caller without an idempotencyKey is told when its order could not be placed in time. */
export function placementTimedOutMessage(orderId: string, callerTimeoutMs: number): string {
  return `Order ${orderId} could not be placed within ${callerTimeoutMs} ms; nothing was kept, retry`;
}
