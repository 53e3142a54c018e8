import { createHash, randomUUID } from 'node:crypto';

// A fixed namespace so the same idempotency key always names the same order (RFC 9562 UUIDv5).
const IDEMPOTENCY_NAMESPACE = Buffer.from('6f1c2e4a9b7d4c3e8a5f0d2b1c3e4f5a', 'hex');

// Later attempts of one key (gateway/order-handlers.ts) are named in a namespace of their own, as
// `<attempt>:<key>`: no attempt of one key can name an order of another.
const ATTEMPT_NAMESPACE = Buffer.from('0b9e1d7c3a5f4e2d9c8b7a6f5e4d3c2b', 'hex');

/**
 * The order id for a create request: derived from the idempotency key, else random. Attempt 0 is
 * the key's first order; a later attempt is a new order for the same key, placed once every
 * earlier one ended without a checkout (a payments outage), each as deterministic as the first.
 */
export function orderIdFor(idempotencyKey: string | undefined, attempt = 0): string {
  if (idempotencyKey === undefined) return randomUUID();
  const hash = (
    attempt === 0
      ? createHash('sha1').update(IDEMPOTENCY_NAMESPACE).update(idempotencyKey, 'utf8')
      : createHash('sha1').update(ATTEMPT_NAMESPACE).update(`${attempt}:${idempotencyKey}`, 'utf8')
  ).digest();
  hash[6] = ((hash[6] as number) & 0x0f) | 0x50;
  hash[8] = ((hash[8] as number) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
