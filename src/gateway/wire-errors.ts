import {
  isGrpcDeadlineError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { RpcError } from '../rpc-error';
import { FailureType, wireStatus } from '../orders/errors';

/**
 * The one mapping of a failure to the `{status, message}` a caller receives; `extra` fields go
 * into the body beside them (the reused idempotencyKey, say). `cause` is for this service's log
 * only: the caller never receives it.
 */
export function toWireError(
  type: string | null | undefined,
  message: string | string[],
  extra?: Record<string, unknown>,
  options?: { cause: unknown },
): RpcError {
  return new RpcError(wireStatus(type), message, extra, options);
}

/**
 * Maps what the Temporal client throws to the `{status, message}` error a NestJS caller expects.
 * `whenSlow` is the message for a call that ran out of time, `whenClosed` for a closed workflow.
 * A 503 keeps what the client threw as its `cause`, which the transport logs (the caller never
 * sees it): an unreachable or misconfigured Temporal shows in the gateway's log as itself.
 */
export function toCallerError(error: unknown, messages: { whenSlow: string; whenClosed: RpcError }): RpcError {
  if (error instanceof RpcError) return error;
  if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
    return toWireError(error.cause.type, error.cause.message);
  }
  if (error instanceof WorkflowNotFoundError) return messages.whenClosed;
  const unavailable = (message: string) => toWireError(FailureType.ServiceUnavailable, message, {}, { cause: error });
  if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(error)) {
    return unavailable(messages.whenSlow);
  }
  return unavailable('The order service is temporarily unavailable');
}
