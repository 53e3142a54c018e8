import { proxyLocalActivities, type LocalActivityOptions } from '@temporalio/workflow';
import type { OrderActivities } from '../activities';
import { NON_RETRYABLE_FAILURES } from '../orders/errors';
import type { PlacementDeadline } from '../orders/workflow-api';

/**
 * The activities under one retry policy, for one step: `summary` is the line the Web UI shows for
 * the call ("open checkout session"). User metadata only: the commands are the same without it.
 */
export type ActivitiesFor = (summary: string) => OrderActivities;

/** The activity proxies an order uses, one per retry policy. */
export interface OrderActivityProxies {
  /** Calls to peers while the caller waits: given up after the placement timeout. */
  placement: ActivitiesFor;
  /** Writes of an order that exists: retried until they succeed. */
  durable: ActivitiesFor;
  /** Nice to have, never worth holding an order up for. */
  bestEffort: ActivitiesFor;
}

const withSummary =
  (options: LocalActivityOptions): ActivitiesFor =>
  (summary) =>
    proxyLocalActivities<OrderActivities>({ ...options, summary });

const INITIAL_INTERVAL_MS = 500;
const PLACEMENT_MAX_INTERVAL_MS = 30_000;
/** Keyless creates retry often and briefly: the activities stop at the caller's deadline. */
const KEYLESS_MAX_INTERVAL_MS = 1_000;

const retryOutages = {
  initialInterval: INITIAL_INTERVAL_MS,
  backoffCoefficient: 2,
  nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
};

/**
 * The attempts whose backoffs fit in `budgetMs`. The SDK's local activities do not stop retrying
 * when their scheduleToCloseTimeout passes, so placement is bounded by a number of attempts.
 */
export function attemptsWithin(budgetMs: number, maxIntervalMs = PLACEMENT_MAX_INTERVAL_MS): number {
  let attempts = 1;
  let waited = 0;
  let backoff = INITIAL_INTERVAL_MS;
  while (waited + backoff <= budgetMs) {
    waited += backoff;
    attempts += 1;
    backoff = Math.min(backoff * retryOutages.backoffCoefficient, maxIntervalMs);
  }
  return attempts;
}

/**
 * Outages of peers are retried while the caller may still be waiting; after that the order is
 * rejected (nothing stored) or cancelled (stored, but it cannot be paid). Keyless creates end at
 * the caller's deadline.
 */
export function activityProxies(placementTimeoutMs: number, keyless: PlacementDeadline | null): OrderActivityProxies {
  return {
    placement: withSummary(
      keyless
        ? {
            startToCloseTimeout: '10 seconds',
            retry: {
              ...retryOutages,
              maximumInterval: KEYLESS_MAX_INTERVAL_MS,
              maximumAttempts: attemptsWithin(
                Math.min(placementTimeoutMs, keyless.callerTimeoutMs),
                KEYLESS_MAX_INTERVAL_MS,
              ),
            },
          }
        : {
            startToCloseTimeout: '10 seconds',
            scheduleToCloseTimeout: placementTimeoutMs,
            retry: {
              ...retryOutages,
              maximumInterval: PLACEMENT_MAX_INTERVAL_MS,
              maximumAttempts: attemptsWithin(placementTimeoutMs),
            },
          },
    ),
    durable: withSummary({
      startToCloseTimeout: '10 seconds',
      retry: { ...retryOutages, maximumInterval: '1 minute' },
    }),
    bestEffort: withSummary({
      startToCloseTimeout: '10 seconds',
      retry: { ...retryOutages, maximumInterval: '5 seconds', maximumAttempts: 3 },
    }),
  };
}
