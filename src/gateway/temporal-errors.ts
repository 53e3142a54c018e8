import {
  isGrpcDeadlineError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { RpcError } from '../nats/nest-transport';
import { wireStatus } from '../orders/errors';

/** The one mapping of a failure to the `{status, message}` a caller receives. */
export function toWireError(type: string | null | undefined, message: string): RpcError {
  return new RpcError(wireStatus(type), message);
}

/**
 * Maps what the Temporal client throws to the `{status, message}` error a NestJS caller expects.
 * `whenSlow` is the message for a call that ran out of time, `whenClosed` for a closed workflow.
 */
export function toCallerError(error: unknown, messages: { whenSlow: string; whenClosed: RpcError }): RpcError {
  if (error instanceof RpcError) return error;
  if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
    return toWireError(error.cause.type, error.cause.message);
  }
  if (error instanceof WorkflowNotFoundError) return messages.whenClosed;
  if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(error)) {
    return new RpcError(503, messages.whenSlow);
  }
  return new RpcError(503, 'The order service is temporarily unavailable');
}
