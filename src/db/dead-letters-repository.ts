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
});

export type DeadLettersRepository = ReturnType<typeof createDeadLettersRepository>;

export function createDeadLettersRepository(pool: DatabasePool) {
  return {
    /** Idempotent per stream sequence, so a redelivered event is kept once. */
    async add(letter: DeadLetter): Promise<void> {
      await pool.query(sql.unsafe`
        INSERT INTO payment_dead_letters (subject, stream_seq, reason, body)
        VALUES (${letter.subject}, ${letter.streamSeq}, ${letter.reason}, ${letter.body})
        ON CONFLICT (stream_seq) DO NOTHING`);
    },

    async list(limit = 100) {
      const rows = await pool.any(sql.type(deadLetterRow)`
        SELECT id, subject, stream_seq, reason, body, received_at
        FROM payment_dead_letters ORDER BY id DESC LIMIT ${limit}`);
      return rows.map((row) => ({
        id: row.id,
        subject: row.subject,
        streamSeq: row.stream_seq,
        reason: row.reason,
        body: row.body,
        receivedAt: new Date(row.received_at).toISOString(),
      }));
    },
  };
}
