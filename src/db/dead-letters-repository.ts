import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';

/** Payment events that matched no order: kept for an operator to list and act on. */
export interface DeadLetter {
  subject: string;
  streamSeq: number | null;
  reason: string;
  body: string;
}

const deadLetterRow = z.object({
  id: z.number(),
  subject: z.string(),
  stream_seq: z.number().nullable(),
  reason: z.string(),
  body: z.string(),
  received_at: z.number(),
  resolved_at: z.number().nullable(),
  resolution: z.string().nullable(),
});

/**
 * The subject of a dead letter the worker keeps for a payment it refused (not signed by the gateway,
 * another order's payment id, unknown to Stripe): its body is the payment as it was signalled.
 */
export const REFUSED_PAYMENT_SUBJECT = 'paymentSucceeded (refused)';

export type DeadLettersRepository = ReturnType<typeof createDeadLettersRepository>;

export function createDeadLettersRepository(pool: DatabasePool) {
  return {
    /**
     * Idempotent per stream message (its subject, sequence and body: `message_key`, sql/008), so a
     * redelivered event is kept once, while a new event under a sequence a deleted and recreated
     * stream uses again is kept too.
     */
    async add(letter: DeadLetter): Promise<void> {
      await pool.query(sql.unsafe`
        INSERT INTO payment_dead_letters (subject, stream_seq, reason, body)
        VALUES (${letter.subject}, ${letter.streamSeq}, ${letter.reason}, ${letter.body})
        ON CONFLICT (message_key) DO NOTHING`);
    },

    async list(limit = 100) {
      const rows = await pool.any(sql.type(deadLetterRow)`
        SELECT id, subject, stream_seq, reason, body, received_at, resolved_at, resolution
        FROM payment_dead_letters ORDER BY id DESC LIMIT ${limit}`);
      return rows.map((row) => ({
        id: row.id,
        subject: row.subject,
        streamSeq: row.stream_seq,
        reason: row.reason,
        body: row.body,
        receivedAt: new Date(row.received_at).toISOString(),
        resolvedAt: row.resolved_at === null ? null : new Date(row.resolved_at).toISOString(),
        resolution: row.resolution,
      }));
    },

    /**
     * An operator has dealt with the letter (refunded it by hand, applied it, found it harmless):
     * `npm run audit` stops reporting it. False when there is no such letter or it was resolved.
     */
    async resolve(id: number, resolution: string): Promise<boolean> {
      if (resolution.trim() === '') throw new Error('a resolution must say what was done');
      const result = await pool.query(sql.unsafe`
        UPDATE payment_dead_letters SET resolved_at = now(), resolution = ${resolution}
        WHERE id = ${id} AND resolved_at IS NULL`);
      return result.rowCount === 1;
    },
  };
}
