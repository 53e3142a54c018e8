import Stripe from 'stripe';
import { z } from 'zod';
import type { Logger } from '../logger';
import { validatePayload } from '../nats/validate-payload';
import { toRpcErrorFromStripe } from './create-session';

/**
 * `identify.payments`: the payment intent behind each Stripe payment id, so the orders service can
 * tell one payment reported under its charge id (`ch_…`, as NestJS payments services do) and under
 * its payment intent (`pi_…`) from two payments.
 */

const identifySchema = z.object({
  stripePaymentIds: z
    .array(z.string().regex(/^(pi|ch|py)_[\w-]{1,250}$/, 'must be a Stripe payment id (pi_, ch_ or py_)'))
    .min(1, 'must hold at least one id')
    .max(20, 'must hold at most 20 ids'),
});

export interface IdentifiedPayments {
  /** Payment intent id per requested id; null when Stripe knows none (or not the charge). */
  paymentIntents: Record<string, string | null>;
}

export function identifyPaymentsHandler(deps: { stripe: Stripe; logger: Logger }) {
  const intentOf = async (id: string): Promise<string | null> => {
    if (id.startsWith('pi_')) return id;
    try {
      const charge = await deps.stripe.charges.retrieve(id);
      const intent = charge.payment_intent;
      return intent === null ? null : typeof intent === 'string' ? intent : intent.id;
    } catch (error) {
      if (error instanceof Stripe.errors.StripeInvalidRequestError) return null;
      throw toRpcErrorFromStripe(error, deps.logger, id);
    }
  };
  return async function identifyPayments(payload: unknown): Promise<IdentifiedPayments> {
    const { stripePaymentIds } = validatePayload(identifySchema, payload);
    const intents = await Promise.all(stripePaymentIds.map(intentOf));
    return { paymentIntents: Object.fromEntries(stripePaymentIds.map((id, index) => [id, intents[index] ?? null])) };
  };
}
