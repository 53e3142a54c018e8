import { checkoutSessionEvent, postWebhook, signEvent, webhookUrl, type WebhookAnswer } from '../payments/test-events';

/**
 * Completes an order's checkout offline: sends the payments service a signed
 * `checkout.session.completed`, exactly as Stripe would; the payments service then publishes
 * `payment.succeeded`. Used by `npm run pay` and `orders pay`.
 */

export interface TestPayment {
  target: string;
  eventId: string;
  paymentId: string;
  answer: WebhookAnswer;
}

/**
 * Why a test payment may not be sent here, or undefined: a signed test webhook pays an order
 * without money, so it is for a developer's machine only, never where NODE_ENV=production.
 */
export function testPaymentRefusal(env: Record<string, string | undefined> = process.env): string | undefined {
  return env.NODE_ENV === 'production'
    ? 'test payments are for local development and refused with NODE_ENV=production: real payments come from Stripe'
    : undefined;
}

/** A test payment was asked for where NODE_ENV=production (nothing was sent). */
export class TestPaymentRefusedError extends Error {
  override readonly name = 'TestPaymentRefusedError';
}

/** The payments service could not be reached at all (nothing answered). */
export class PaymentsUnreachableError extends Error {
  override readonly name = 'PaymentsUnreachableError';
}

export async function sendTestPayment(options: {
  orderId: string;
  paymentsUrl: string;
  webhookSecret: string;
  /** Whose NODE_ENV decides (testPaymentRefusal); this process's by default. */
  env?: Record<string, string | undefined>;
}): Promise<TestPayment> {
  const refusal = testPaymentRefusal(options.env);
  if (refusal !== undefined) throw new TestPaymentRefusedError(refusal);
  const target = webhookUrl(options.paymentsUrl);
  const event = checkoutSessionEvent({ orderId: options.orderId.toLowerCase() });
  const paymentId = event.data.object.payment_intent as string;
  try {
    const answer = await postWebhook(target, signEvent(event, options.webhookSecret));
    return { target, eventId: event.id, paymentId, answer };
  } catch (error) {
    const cause = (error as Error).cause;
    throw new PaymentsUnreachableError(
      `Payments service not reachable at ${target}: ${cause instanceof Error ? cause.message : (error as Error).message}`,
    );
  }
}

export const isAccepted = (payment: TestPayment): boolean =>
  payment.answer.status >= 200 && payment.answer.status <= 299;
