import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Refund requests and their outcomes travel over NATS, where any client allowed to publish could
 * forge one. The worker signs each `payment.refund.requested` with REFUND_SIGNING_KEY, which it
 * shares with the payments service only; the payments service refunds nothing it cannot verify,
 * and signs each outcome (`payment.refunded`, `payment.refund.failed`) with the same key, which
 * the gateway checks before it records the outcome. HMAC-SHA256 over the fields, in a fixed order,
 * with the kind of message first so that one kind's MAC never passes for another.
 */

const VERSION = 'v1';

export interface RefundRequestFields {
  orderId: string;
  stripePaymentId: string;
  reason: string;
}

export type RefundOutcomeFields =
  | { kind: 'refunded'; orderId: string; stripePaymentId: string; refundId: string | null }
  | { kind: 'failed'; orderId: string; stripePaymentId: string; reason: string };

function mac(fields: readonly unknown[], key: string): string {
  return `${VERSION}.${createHmac('sha256', key)
    .update(JSON.stringify([VERSION, ...fields]))
    .digest('base64url')}`;
}

function matches(signature: unknown, expected: string): boolean {
  if (typeof signature !== 'string') return false;
  const given = Buffer.from(signature);
  const wanted = Buffer.from(expected);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

const requestFields = (request: RefundRequestFields) => [
  'refund.requested',
  request.orderId,
  request.stripePaymentId,
  request.reason,
];

const outcomeFields = (outcome: RefundOutcomeFields) =>
  outcome.kind === 'refunded'
    ? ['refund.refunded', outcome.orderId, outcome.stripePaymentId, outcome.refundId]
    : ['refund.failed', outcome.orderId, outcome.stripePaymentId, outcome.reason];

export function signRefundRequest(request: RefundRequestFields, key: string): string {
  return mac(requestFields(request), key);
}

/** True when `signature` is the MAC of exactly these fields under `key`. */
export function isSignedRefundRequest(request: RefundRequestFields, signature: unknown, key: string): boolean {
  return matches(signature, signRefundRequest(request, key));
}

export function signRefundOutcome(outcome: RefundOutcomeFields, key: string): string {
  return mac(outcomeFields(outcome), key);
}

export function isSignedRefundOutcome(outcome: RefundOutcomeFields, signature: unknown, key: string): boolean {
  return matches(signature, signRefundOutcome(outcome, key));
}
