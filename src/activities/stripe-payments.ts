import Stripe from 'stripe';

/**
 * A Stripe payment as Stripe itself reports it, for the worker's verification
 * (PAYMENT_VERIFICATION=stripe). Read-only: a restricted key that reads PaymentIntents and Charges
 * is enough.
 */
export type StripePayment =
  | { kind: 'unknown' }
  | {
      kind: 'found';
      /** `succeeded` when the money was taken. */
      status: string;
      /** Integer minor units received, as Stripe reports them. */
      amount: number;
      currency: string;
      /** The order the checkout was opened for (metadata.orderId), or null. */
      orderId: string | null;
    };

export interface StripePayments {
  findPayment(stripePaymentId: string): Promise<StripePayment>;
}

const orderIdOf = (metadata: Stripe.Metadata | null | undefined): string | null => {
  const orderId = metadata?.orderId;
  return typeof orderId === 'string' && orderId !== '' ? orderId.toLowerCase() : null;
};

const isMissing = (error: unknown): boolean =>
  error instanceof Stripe.errors.StripeInvalidRequestError &&
  (error.statusCode === 404 || error.code === 'resource_missing');

/** `succeeded` only for a charge whose money is all still there: not refunded in part, not disputed. */
function chargeStatus(charge: Stripe.Charge): string {
  if (charge.refunded || charge.amount_refunded > 0) return 'refunded';
  if (charge.disputed) return 'disputed';
  return charge.status;
}

export function createStripePayments(stripe: Stripe): StripePayments {
  const intent = async (id: string): Promise<StripePayment> => {
    // Its charge says whether the money was given back since: an intent stays `succeeded` when refunded.
    const found = await stripe.paymentIntents.retrieve(id, { expand: ['latest_charge'] });
    const charged = typeof found.latest_charge === 'object' ? found.latest_charge : null;
    return {
      kind: 'found',
      status: charged === null ? found.status : chargeStatus(charged),
      amount: found.amount_received,
      currency: found.currency,
      orderId: orderIdOf(found.metadata),
    };
  };

  const charge = async (id: string): Promise<StripePayment> => {
    const found = await stripe.charges.retrieve(id);
    const intentId = typeof found.payment_intent === 'string' ? found.payment_intent : found.payment_intent?.id;
    // A Checkout payment's metadata is on its PaymentIntent; a charge may carry none of its own.
    const viaIntent = orderIdOf(found.metadata) === null && intentId ? await intent(intentId) : null;
    const orderId = orderIdOf(found.metadata) ?? (viaIntent?.kind === 'found' ? viaIntent.orderId : null);
    return {
      kind: 'found',
      status: chargeStatus(found),
      amount: found.amount_captured,
      currency: found.currency,
      orderId,
    };
  };

  return {
    async findPayment(stripePaymentId) {
      try {
        return stripePaymentId.startsWith('pi_') ? await intent(stripePaymentId) : await charge(stripePaymentId);
      } catch (error) {
        if (isMissing(error)) return { kind: 'unknown' };
        throw error;
      }
    },
  };
}
