import type { ApplicationFailure } from '@temporalio/activity';
import { FailureType, orderFailure } from '../orders/errors';
import { RpcError } from '../rpc-error';

/**
 * Turns a peer's answer into an activity failure: a peer's 4xx is bad input (never retried),
 * anything else is an outage (retried with backoff by the workflow's retry policy).
 */
export function peerFailure(error: unknown, badInputType: FailureType): ApplicationFailure {
  if (error instanceof RpcError && error.status >= 400 && error.status < 500) {
    return orderFailure(badInputType, error.message, false);
  }
  return orderFailure(FailureType.ServiceUnavailable, error instanceof Error ? error.message : String(error), true);
}
