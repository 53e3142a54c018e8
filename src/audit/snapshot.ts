import type { OrderStatus } from '../orders/types';

/** What the audit reads from each store, reduced to what it compares. */
export interface AuditSnapshot {
  takenAt: number;
  orders: Array<{ id: string; status: OrderStatus; paid: boolean; stripeChargeId: string | null; createdAt: number }>;
  payments: Array<{ stripePaymentId: string; orderId: string; outcome: 'APPLIED' | 'REFUND_REQUESTED' }>;
  deadLetterSeqs: number[];
  /** The latest run of each order workflow. */
  workflows: Array<{ workflowId: string; running: boolean; orderStatus?: string; startedAt: number }>;
  /** `payment.succeeded` messages in the stream; `payment` is undefined for unreadable ones. */
  paymentEvents: Array<{ seq: number; publishedAt: number; payment?: { orderId: string; stripePaymentId: string } }>;
  /** Stream sequence up to which the payment consumer has acknowledged every message. */
  consumerAckFloor: number;
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
}

export const discrepancyCount = (report: AuditReport): number =>
  report.missing.length + report.duplicate.length + report.stuck.length + report.mismatched.length;
