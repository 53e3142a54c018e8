import Stripe from 'stripe';
import { z } from 'zod';
import type { Logger } from '../logger';
import { validatePayload } from '../nats/validate-payload';
import { toRpcErrorFromStripe } from './create-session';

/** `expire.payment.session`: closes an order's Checkout session so it can no longer be paid. */

const expireSchema = z.object({
  orderId: z.string('must be a string').min(1, 'must not be empty').max(200),
  sessionId: z.string('must be a string').regex(/^cs_[A-Za-z0-9_]{1,250}$/, 'must be a Checkout session id (cs_...)'),
});

export interface ExpireSessionResult {
  sessionId: string;
  /** True when Stripe accepted the expiry: the session can no longer be paid. */
  expired: boolean;
  /** Stripe's status of the session: `expired`, or `complete` when the customer paid first. */
  status: string | null;
}

export function expirePaymentSessionHandler(deps: { stripe: Stripe; logger: Logger }) {
  return async function expirePaymentSession(payload: unknown): Promise<ExpireSessionResult> {
    const { orderId, sessionId } = validatePayload(expireSchema, payload);
    try {
      const expired = await deps.stripe.checkout.sessions.expire(sessionId);
      deps.logger.info({ orderId, sessionId }, 'checkout session expired');
      return { sessionId, expired: true, status: expired.status };
    } catch (error) {
      // Stripe expires only open sessions: tell the caller what the session is instead.
      if (!(error instanceof Stripe.errors.StripeInvalidRequestError))
        throw toRpcErrorFromStripe(error, deps.logger, orderId);
      const current = await deps.stripe.checkout.sessions.retrieve(sessionId).catch((retrieveError: unknown) => {
        throw toRpcErrorFromStripe(retrieveError, deps.logger, orderId);
      });
      return { sessionId, expired: false, status: current.status };
    }
  };
}
