import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { FailureType, NON_RETRYABLE_FAILURES, orderFailure } from '../orders/errors';

/** A failure the workflow hands a caller: final, whatever its kind (the caller decides to retry). */
export function failure(type: FailureType, message: string): ApplicationFailure {
  return orderFailure(type, message, false);
}

/** The failure type an activity ended with, if it ended with an ApplicationFailure. */
export function causeType(error: unknown): string | undefined {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

/** The message of the failure an activity ended with. */
export function causeMessage(error: unknown): string {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}

/** Turns a failed activity into the failure the caller of `orders.create` receives. */
export function placementFailure(error: unknown, fallback: FailureType, fallbackMessage: string): ApplicationFailure {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure && NON_RETRYABLE_FAILURES.includes(causeType(error) as FailureType)) {
    return failure(cause.type as FailureType, cause.message);
  }
  return failure(fallback, fallbackMessage);
}
