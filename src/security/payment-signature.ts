import { createHmac, timingSafeEqual } from 'node:crypto';
import type { PaymentSucceeded, SignedPayment } from '../orders/types';

/**
 * The gateway signs each payment it signals with a key it shares with the worker only; the worker
 * verifies the signature before a payment changes anything. Anyone else who can signal a workflow
 * (the Temporal CLI, the Web UI's "Send signal", a compromised peer with Temporal access) cannot
 * sign, so their "payments" never pay or refund. HMAC-SHA256 over every field, in a fixed order.
 */

const VERSION = 'v1';

function canonical(payment: PaymentSucceeded): string {
  return JSON.stringify([
    VERSION,
    payment.orderId,
    payment.stripePaymentId,
    payment.receiptUrl ?? null,
    payment.amount ?? null,
    payment.currency ?? null,
  ]);
}

function mac(payment: PaymentSucceeded, key: string): string {
  return `${VERSION}.${createHmac('sha256', key).update(canonical(payment)).digest('base64url')}`;
}

export function signPayment(payment: PaymentSucceeded, key: string): SignedPayment {
  return { ...payment, signature: mac(payment, key) };
}

/** True when `payment` was signed with `key` and not changed since. */
export function hasValidSignature(payment: Partial<SignedPayment>, key: string): boolean {
  if (typeof payment.signature !== 'string') return false;
  if (typeof payment.orderId !== 'string' || typeof payment.stripePaymentId !== 'string') return false;
  const expected = Buffer.from(mac(payment as PaymentSucceeded, key));
  const given = Buffer.from(payment.signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
