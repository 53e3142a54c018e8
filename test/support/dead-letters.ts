import type { DatabasePool } from '../../src/db/pool';
import { createDeadLettersRepository, REFUSED_PAYMENT_SUBJECT } from '../../src/db/dead-letters-repository';

/**
 * Resolves, as an operator would once they have looked, the unresolved dead letters `matches`
 * picks, and answers their reasons. A test that makes dead letters on purpose resolves them, so the
 * run's audit reports only what nobody expected.
 */
export async function resolveDeadLetters(
  pool: DatabasePool,
  matches: (letter: { subject: string; reason: string; body: string }) => boolean,
  resolution = 'test: made on purpose',
): Promise<string[]> {
  const deadLetters = createDeadLettersRepository(pool);
  const letters = (await deadLetters.list(10_000)).filter((letter) => letter.resolvedAt === null && matches(letter));
  for (const letter of letters) await deadLetters.resolve(letter.id, resolution);
  return letters.map((letter) => letter.reason).sort();
}

/** The payments the worker refused for `orderId` (kept as dead letters), resolved; their reasons. */
export const resolveRefusedPayments = (pool: DatabasePool, orderId: string): Promise<string[]> =>
  resolveDeadLetters(
    pool,
    (letter) => letter.subject === REFUSED_PAYMENT_SUBJECT && letter.reason.includes(`order ${orderId}:`),
  );
