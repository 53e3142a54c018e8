import { ApplicationFailure } from '@temporalio/common';

/**
 * Every failure an order can end a call with, in one place: its type (shared by activities, the
 * workflow and the gateway), the HTTP-like status a NestJS gateway shows its client, and whether
 * retrying can fix it (bad input and state conflicts cannot; outages can). Failures travel as
 * Temporal ApplicationFailures `{type, message}`; the gateway maps them to the wire once
 * (gateway/wire-errors.ts).
 */
const FAILURE_KINDS = {
  InvalidInput: { status: 400, retryable: false },
  ProductsNotFound: { status: 400, retryable: false },
  OrderNotFound: { status: 404, retryable: false },
  ForbiddenTransition: { status: 409, retryable: false },
  ServiceUnavailable: { status: 503, retryable: true },
  DatabaseUnavailable: { status: 503, retryable: true },
  PaymentSessionFailed: { status: 503, retryable: true },
  /** The payments service or Stripe refused the checkout for good (amount limits, currency). */
  CheckoutRefused: { status: 422, retryable: false },
  /** A keyless create ran out of the caller's time: nothing of it is kept. */
  PlacementTimedOut: { status: 503, retryable: false },
  /** An idempotencyKey sent again with other items: it names another order. */
  IdempotencyKeyReused: { status: 422, retryable: false },
  /**
   * A placement found its order stored before and moved on (paid, delivered, cancelled): a key
   * retried after its workflow's history was deleted by retention. The gateway answers from the
   * stored order instead; never sent to a caller.
   */
  OrderAlreadyPlaced: { status: 409, retryable: false },
} as const satisfies Record<string, { status: number; retryable: boolean }>;

export type FailureType = keyof typeof FAILURE_KINDS;

export const FailureType = Object.fromEntries(Object.keys(FAILURE_KINDS).map((type) => [type, type])) as {
  readonly [T in FailureType]: T;
};

const FAILURE_TYPES = Object.keys(FAILURE_KINDS) as FailureType[];

/** The types no retry policy retries. */
export const NON_RETRYABLE_FAILURES: FailureType[] = FAILURE_TYPES.filter((type) => !FAILURE_KINDS[type].retryable);

/** The status a caller receives for a failure of `type`; 500 (a bug) for anything else. */
export function wireStatus(type: string | null | undefined): number {
  return FAILURE_TYPES.includes(type as FailureType) ? FAILURE_KINDS[type as FailureType].status : 500;
}

/** A failure of one kind; retried or not as its kind says, unless `retryable` is given. */
export function orderFailure(
  type: FailureType,
  message: string,
  retryable: boolean = FAILURE_KINDS[type].retryable,
  cause?: Error,
): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: !retryable, ...(cause ? { cause } : {}) });
}

/** Why placement ended an order for good, as stored with it and answered again on a retry. */
export interface Rejection {
  type: FailureType;
  message: string;
}

export const orderNotFoundMessage = (orderId: string): string => `Order with id ${orderId} not found`;

export const productsNotFoundMessage = (missing: ReadonlyArray<string | number>): string =>
  `Products not found: ${missing.join(', ')}`;

export const paymentSessionFailedMessage = (orderId: string): string =>
  `The payment session for order ${orderId} could not be created; the order was cancelled`;

/** What the caller is told when the checkout of its order was refused for good. */
export function checkoutRefusedMessage(orderId: string, reason: string): string {
  return `The checkout for order ${orderId} was refused: ${reason}; the order was cancelled`;
}

/** What a caller without an idempotencyKey is told when its order could not be placed in time. */
export function placementTimedOutMessage(orderId: string, callerTimeoutMs: number): string {
  return `Order ${orderId} could not be placed within ${callerTimeoutMs} ms; nothing was kept, retry`;
}
