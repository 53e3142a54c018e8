import { ForeignKeyIntegrityConstraintViolationError, sql, type DatabasePool } from 'slonik';
import { z } from 'zod';

/**
 * The refund of each payment that is owed one, and its outcome: `requested` by the worker before
 * it publishes the request, then `done` (Stripe's refund id) or `failed` (Stripe's code and
 * message) as the payments service reports it. A refund `done` stays done.
 */

export type RefundStatus = 'requested' | 'done' | 'failed';

export interface Refund {
  stripePaymentId: string;
  orderId: string;
  reason: string;
  status: RefundStatus;
  stripeRefundId: string | null;
  failure: string | null;
  requestedAt: number;
  settledAt: number | null;
}

const refundRow = z.object({
  stripe_payment_id: z.string(),
  order_id: z.string(),
  reason: z.string(),
  status: z.enum(['requested', 'done', 'failed']),
  stripe_refund_id: z.string().nullable(),
  failure: z.string().nullable(),
  requested_at: z.number(),
  settled_at: z.number().nullable(),
});

const recordedRow = z.object({ recorded: z.boolean() });

const toRefund = (row: z.output<typeof refundRow>): Refund => ({
  stripePaymentId: row.stripe_payment_id,
  orderId: row.order_id,
  reason: row.reason,
  status: row.status,
  stripeRefundId: row.stripe_refund_id,
  failure: row.failure,
  requestedAt: row.requested_at,
  settledAt: row.settled_at,
});

/** PostgreSQL's foreign_key_violation: the refund names no payment recorded against that order. */
/** An outcome for a refund recorded against another order: not this order's to settle. */
class RefundOfAnotherOrder extends Error {}

/** The outcome names a payment not recorded against its order (or a refund of another order's): nothing to settle. */
export const isUnrecordedPayment = (error: unknown): boolean =>
  error instanceof ForeignKeyIntegrityConstraintViolationError || error instanceof RefundOfAnotherOrder;

export type RefundsRepository = ReturnType<typeof createRefundsRepository>;

export function createRefundsRepository(pool: DatabasePool) {
  const columns = sql.fragment`stripe_payment_id, order_id, reason, status, stripe_refund_id, failure, requested_at, settled_at`;
  return {
    /**
     * Records that a refund is owed, once per payment (a retried activity changes nothing, and a
     * settled refund stays settled). Throws on a payment not recorded against `orderId`.
     */
    /** False, recording nothing, when the payment is not recorded against the order (no refund of it is owed). */
    async request(refund: { orderId: string; stripePaymentId: string; reason: string }): Promise<boolean> {
      const recorded = await pool.oneFirst(sql.type(recordedRow)`
        SELECT EXISTS (
          SELECT FROM payments WHERE stripe_payment_id = ${refund.stripePaymentId} AND order_id = ${refund.orderId}
        ) AS recorded`);
      if (!recorded) return false;
      await pool.query(sql.unsafe`
        INSERT INTO refunds (stripe_payment_id, order_id, reason)
        VALUES (${refund.stripePaymentId}, ${refund.orderId}, ${refund.reason})
        ON CONFLICT (stripe_payment_id) DO NOTHING`);
      return true;
    },

    /**
     * Records the payments service's outcome. `done` is final; `failed` may become `done` (a
     * later attempt). An outcome for a refund the worker has not recorded yet (the outcome came
     * first) inserts it. Throws on a payment not recorded against `orderId`.
     */
    async settle(
      outcome:
        | { orderId: string; stripePaymentId: string; status: 'done'; stripeRefundId: string | null }
        | { orderId: string; stripePaymentId: string; status: 'failed'; failure: string },
    ): Promise<Refund> {
      const refundId = outcome.status === 'done' ? outcome.stripeRefundId : null;
      const failure = outcome.status === 'failed' ? outcome.failure : null;
      // Used only when the outcome comes before the worker's own row.
      const reason = 'refund requested (recorded from its outcome)';
      const row = await pool.maybeOne(sql.type(refundRow)`
        INSERT INTO refunds AS r (stripe_payment_id, order_id, reason, status, stripe_refund_id, failure, settled_at)
        VALUES (${outcome.stripePaymentId}, ${outcome.orderId}, ${reason}, ${outcome.status}, ${refundId}, ${failure}, now())
        ON CONFLICT (stripe_payment_id) DO UPDATE
          SET status = EXCLUDED.status, stripe_refund_id = EXCLUDED.stripe_refund_id,
              failure = EXCLUDED.failure, settled_at = EXCLUDED.settled_at
          WHERE r.status <> 'done' AND r.order_id = EXCLUDED.order_id
        RETURNING ${columns}`);
      if (row !== null) return toRefund(row);
      // Already done (kept), or recorded for another order (refused).
      const existing = await pool.one(sql.type(refundRow)`
        SELECT ${columns} FROM refunds WHERE stripe_payment_id = ${outcome.stripePaymentId}`);
      if (existing.order_id !== outcome.orderId) {
        throw new RefundOfAnotherOrder(
          `refund of ${outcome.stripePaymentId} is recorded for order ${existing.order_id}, not ${outcome.orderId}`,
        );
      }
      return toRefund(existing);
    },

    async find(stripePaymentId: string): Promise<Refund | null> {
      const row = await pool.maybeOne(sql.type(refundRow)`
        SELECT ${columns} FROM refunds WHERE stripe_payment_id = ${stripePaymentId}`);
      return row === null ? null : toRefund(row);
    },
  };
}
