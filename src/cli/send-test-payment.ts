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

/** The payments service could not be reached at all (nothing answered). */
export class PaymentsUnreachableError extends Error {
  override readonly name = 'PaymentsUnreachableError';
}

export async function sendTestPayment(options: {
  orderId: string;
  paymentsUrl: string;
  webhookSecret: string;
}): Promise<TestPayment> {
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
