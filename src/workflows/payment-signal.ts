/**
 * What is wrong with a `paymentSucceeded` signal, or null when it has the shape the gateway sends
 * and names this order. Anyone with Temporal access can signal a workflow: a signal that fails
 * here is dropped with a log line, never queued, retried or recorded. (Whether it came from the
 * gateway is the worker's to check: only it holds the signing key.)
 */
export function paymentSignalProblem(payment: unknown, orderId: string): string | null {
  if (typeof payment !== 'object' || payment === null || Array.isArray(payment)) return 'not an object';
  const fields = payment as Record<string, unknown>;
  const { stripePaymentId, receiptUrl, amount, currency, signature } = fields;
  if (typeof stripePaymentId !== 'string' || stripePaymentId.length === 0 || stripePaymentId.length > 255) {
    return 'stripePaymentId must be a string of 1 to 255 characters';
  }
  if (fields.orderId !== orderId) return `orderId is not ${orderId}`;
  if (receiptUrl !== null && (typeof receiptUrl !== 'string' || receiptUrl.length > 2048)) {
    return 'receiptUrl must be null or a string of at most 2048 characters';
  }
  if ((amount === undefined) !== (currency === undefined)) return 'amount and currency come together or not at all';
  if (amount !== undefined && (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 0)) {
    return 'amount must be a non-negative integer (minor units)';
  }
  if (currency !== undefined && (typeof currency !== 'string' || !/^[a-z]{3}$/.test(currency))) {
    return 'currency must be a three-letter lower-case code';
  }
  if (typeof signature !== 'string' || signature.length === 0 || signature.length > 200) {
    return 'not signed by the gateway';
  }
  return null;
}
