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
};

export const NON_RETRYABLE_FAILURES: FailureType[] = [
  FailureType.InvalidInput,
  FailureType.ProductsNotFound,
  FailureType.OrderNotFound,
  FailureType.ForbiddenTransition,
];
