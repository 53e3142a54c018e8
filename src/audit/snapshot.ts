import type { OrderStatus } from '../orders/types';

/** What the audit reads from each store, reduced to what it compares. */
export interface AuditSnapshot {
  takenAt: number;
  orders: Array<{ id: string; status: OrderStatus; paid: boolean; stripeChargeId: string | null; createdAt: number }>;
  payments: Array<{
    stripePaymentId: string;
    orderId: string;
    outcome: 'APPLIED' | 'REFUND_REQUESTED' | 'MISMATCH';
    receivedAt: number;
  }>;
  /** Every row of `refunds`. */
  refunds: Array<{
    stripePaymentId: string;
    orderId: string;
    status: 'requested' | 'done' | 'failed';
    failure: string | null;
    requestedAt: number;
  }>;
  /** Stream sequences of the dead letters, resolved or not. */
  deadLetterSeqs: number[];
  /** Payments the worker refused (unsigned, another order's, unknown to Stripe), as `orderId/stripePaymentId`. */
  refusedPayments: string[];
  /** Dead letters no operator has resolved yet (`resolved_at` empty). */
  unresolvedDeadLetters: Array<{ id: number; streamSeq: number | null; reason: string }>;
  /** The latest run of each order workflow. */
  workflows: Array<{ workflowId: string; running: boolean; orderStatus?: string; startedAt: number }>;
  /** `payment.succeeded` messages in the stream; `payment` is undefined for unreadable ones. */
  paymentEvents: Array<{ seq: number; publishedAt: number; payment?: { orderId: string; stripePaymentId: string } }>;
  /** Stream sequence up to which the payment consumer has acknowledged every message. */
  consumerAckFloor: number;
  /** The oldest sequence the stream still holds (older ones were removed by its limits). */
  streamFirstSeq: number;
  /**
   * Each durable consumer of the stream, with the sequence up to which it has handled everything:
   * its ack floor, or, with no message awaiting its ack, the last sequence delivered to it (a
   * filtered consumer's ack floor stays at its own last message while other subjects pass by).
   */
  consumers: Array<{ durable: string; handledSeq: number }>;
}

export interface AuditSettings {
  placementTimeoutMs: number;
  paymentWindowMs: number;
  /** Slack for work that is legitimately under way when the snapshot is taken. */
  graceMs: number;
}

export interface AuditReport {
  counts: {
    orders: number;
    workflows: number;
    payments: number;
    paymentEvents: number;
    deadLetters: number;
    eventsInFlight: number;
  };
  missing: string[];
  duplicate: string[];
  stuck: string[];
  mismatched: string[];
  /** Refunds owed and not done: requested long ago, failed, or never recorded. */
  unrefunded: string[];
  /** Dead letters no operator has resolved. */
  unresolved: string[];
  /** Stream messages removed by the stream's limits before a consumer handled them. */
  dropped: string[];
}

export const DISCREPANCY_KINDS = [
  'missing',
  'duplicate',
  'stuck',
  'mismatched',
  'unrefunded',
  'unresolved',
  'dropped',
] as const;

export const discrepancyCount = (report: AuditReport): number =>
  DISCREPANCY_KINDS.reduce((sum, kind) => sum + report[kind].length, 0);
