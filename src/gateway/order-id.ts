import { createHash, randomUUID } from 'node:crypto';

// A fixed namespace so the same idempotency key always names the same order (RFC 9562 UUIDv5).
const IDEMPOTENCY_NAMESPACE = Buffer.from('6f1c2e4a9b7d4c3e8a5f0d2b1c3e4f5a', 'hex');

/** The order id for a create request: derived from the idempotency key, else random. */
export function orderIdFor(idempotencyKey: string | undefined): string {
  if (idempotencyKey === undefined) return randomUUID();
  const hash = createHash('sha1').update(IDEMPOTENCY_NAMESPACE).update(idempotencyKey, 'utf8').digest();
  hash[6] = ((hash[6] as number) & 0x0f) | 0x50;
  hash[8] = ((hash[8] as number) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
