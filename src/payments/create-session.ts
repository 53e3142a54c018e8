import Stripe from 'stripe';
import { z } from 'zod';
import type { Logger } from '../logger';
import { RpcError } from '../rpc-error';
import { validatePayload } from '../nats/validate-payload';
import { toMinorUnits } from '../orders/money';

/** `create.payment.session`: a Stripe Checkout session for an order. */

const sessionSchema = z.object({
  orderId: z
    .string('must be a string')
    .min(1, 'must not be empty')
    // Stripe idempotency keys are at most 255 characters; ours is a prefix plus the order id.
    .max(200, 'must be at most 200 characters'),
  currency: z
    .string('must be a string')
    .regex(/^[a-zA-Z]{3}$/, 'must be a three-letter ISO currency code')
    .transform((currency) => currency.toLowerCase()),
  items: z
    .array(
      z.object({
        name: z
          .string('must be a string')
          .trim()
          .min(1, 'must not be empty')
          .max(250, 'must be at most 250 characters'),
        price: z
          .number('must be a number')
          .nonnegative('must not be negative')
          // Stripe's largest amount is 99,999,999 minor units: checked on the total, per currency.
          .max(1e12, 'must be at most 1000000000000'),
        quantity: z
          .number('must be a number')
          // Not .int(), which zod 4 stops at: 0.5 is both not an integer and under 1.
          .refine(Number.isInteger, 'must be an integer')
          .min(1, 'must be at least 1')
          .max(10_000, 'must be at most 10000'),
      }),
      'must be an array',
    )
    .min(1, 'must hold at least one item')
    .max(100, 'must hold at most 100 items'),
});

export type PaymentSessionRequest = z.output<typeof sessionSchema>;

export interface PaymentSessionResult {
  url: string;
  successUrl: string;
  cancelUrl: string;
  sessionId: string;
}

export interface CreateSessionDeps {
  stripe: Stripe;
  /** Where the customer's browser comes back to (config.payments.publicUrl). */
  publicUrl: string;
  logger: Logger;
}

/** Stripe's largest charge, in the currency's minor units. */
export const MAX_AMOUNT_MINOR = 99_999_999;

/**
 * Stripe's minimum charge per settlement currency, in minor units (docs.stripe.com/currencies,
 * "Minimum and maximum charge amounts"); currencies not listed are left to Stripe.
 */
const MIN_AMOUNT_MINOR: Record<string, number> = {
  usd: 50,
  aed: 200,
  aud: 50,
  bgn: 100,
  brl: 50,
  cad: 50,
  chf: 50,
  czk: 1500,
  dkk: 250,
  eur: 50,
  gbp: 30,
  hkd: 400,
  huf: 17500,
  inr: 50,
  jpy: 50,
  mxn: 1000,
  myr: 200,
  nok: 300,
  nzd: 50,
  pln: 200,
  ron: 200,
  sek: 300,
  sgd: 50,
  thb: 1000,
};

/** Why Stripe would refuse a checkout of these lines for good, or null. */
export function amountRefusal(
  currency: string,
  lines: ReadonlyArray<{ unitAmount: number; quantity: number }>,
): string | null {
  const total = lines.reduce((sum, line) => sum + line.unitAmount * line.quantity, 0);
  const minimum = MIN_AMOUNT_MINOR[currency];
  if (minimum !== undefined && total < minimum) {
    return `the total of ${total} (minor units of ${currency.toUpperCase()}) is under Stripe's minimum charge of ${minimum}`;
  }
  if (total > MAX_AMOUNT_MINOR) {
    return `the total of ${total} (minor units of ${currency.toUpperCase()}) is over Stripe's maximum charge of ${MAX_AMOUNT_MINOR}`;
  }
  return null;
}

export const checkoutIdempotencyKey = (orderId: string): string => `checkout-session-${orderId}`;

export function createPaymentSessionHandler(deps: CreateSessionDeps) {
  const base = deps.publicUrl.replace(/\/+$/, '');
  const successUrl = `${base}/payments/success`;
  const cancelUrl = `${base}/payments/cancel`;

  return async function createPaymentSession(payload: unknown): Promise<PaymentSessionResult> {
    const request = validatePayload(sessionSchema, payload);
    const lines = request.items.map((item) => ({ ...item, unitAmount: toMinorUnits(item.price, request.currency) }));
    // Stripe refuses these for good; saying so here names the limit (stripe-mock does not check).
    const refusal = amountRefusal(request.currency, lines);
    if (refusal !== null) throw new RpcError(400, refusal);
    let session: Stripe.Checkout.Session;
    try {
      session = await deps.stripe.checkout.sessions.create(
        {
          mode: 'payment',
          line_items: lines.map((item) => ({
            price_data: {
              currency: request.currency,
              product_data: { name: item.name },
              unit_amount: item.unitAmount,
            },
            quantity: item.quantity,
          })),
          metadata: { orderId: request.orderId },
          // Copied onto the payment so charge events can be matched to the order as well.
          payment_intent_data: { metadata: { orderId: request.orderId } },
          // The customer pays the order's currency and amount: with Adaptive Pricing Stripe would
          // charge a converted amount in the customer's currency, which the orders service refunds
          // as not the order's.
          adaptive_pricing: { enabled: false },
          success_url: successUrl,
          cancel_url: cancelUrl,
        },
        // A retried request for the same order gets the same session, never a second one.
        { idempotencyKey: checkoutIdempotencyKey(request.orderId) },
      );
    } catch (error) {
      throw toRpcErrorFromStripe(error, deps.logger, request.orderId);
    }
    if (!session.url) throw new RpcError(502, 'Stripe returned a checkout session without a URL');
    deps.logger.info({ orderId: request.orderId, sessionId: session.id }, 'checkout session created');
    return { url: session.url, successUrl, cancelUrl, sessionId: session.id };
  };
}

/**
 * Outages become a 503 (the caller may retry), a request Stripe refuses becomes a 400 with
 * Stripe's explanation; anything else is a 502 from a misbehaving or misconfigured provider.
 */
export function toRpcErrorFromStripe(error: unknown, logger: Logger, orderId: string): RpcError {
  const { errors } = Stripe;
  if (error instanceof errors.StripeConnectionError || error instanceof errors.StripeRateLimitError) {
    logger.warn({ orderId, reason: error.message }, 'Stripe unreachable');
    return new RpcError(503, 'Payment provider unavailable, try again later');
  }
  if (error instanceof errors.StripeAPIError) {
    logger.warn({ orderId, reason: error.message, statusCode: error.statusCode }, 'Stripe failed');
    return new RpcError(503, 'Payment provider unavailable, try again later');
  }
  if (error instanceof errors.StripeIdempotencyError) {
    return new RpcError(409, `A different checkout session was already requested for order ${orderId}`);
  }
  if (error instanceof errors.StripeInvalidRequestError || error instanceof errors.StripeCardError) {
    return new RpcError(400, `Payment provider refused the session: ${error.message}`);
  }
  if (error instanceof errors.StripeError) {
    // Authentication and permission errors: the operator has to fix the configuration.
    logger.error({ orderId, type: error.type, reason: error.message }, 'Stripe refused our request');
    return new RpcError(502, 'Payment provider refused the request');
  }
  logger.error({ orderId, err: error }, 'checkout session failed');
  return new RpcError(500, 'Internal server error');
}
