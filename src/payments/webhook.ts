import type { JetStreamClient } from '@nats-io/jetstream';
import Stripe from 'stripe';
import type { Logger } from '../logger';
import { encodeEvent } from '../nats/nest-transport';
import { traceHeadersOption } from '../nats/trace-headers';
import { PAYMENT_SUCCEEDED_SUBJECT } from '../nats/subjects';
import type { PaymentSucceeded } from '../orders/types';

/**
 * Stripe webhook: verifies the signature, turns payment events into `payment.succeeded` and
 * answers 2xx only once JetStream has stored the event, so Stripe retries until it is safe.
 */

export interface WebhookDeps {
  stripe: Stripe;
  js: JetStreamClient;
  webhookSecret: string;
  /** Signed events older than this are refused as possible replays. */
  toleranceSeconds: number;
  /** How long to wait for JetStream's acknowledgement before answering 503. */
  publishTimeoutMs: number;
  /**
   * The mode of the configured Stripe key (stripeKeyMode): an event of the other mode is refused
   * with 400. Undefined (a key that names no mode, as stripe-mock accepts): not checked.
   */
  keyMode: StripeMode | undefined;
  logger: Logger;
}

export interface WebhookAnswer {
  status: number;
  body: Record<string, unknown>;
}

export type WebhookHandler = (rawBody: Buffer, signature: string | undefined) => Promise<WebhookAnswer>;

type Mapped = { payment: PaymentSucceeded } | { ignored: string };

const idOf = (value: string | { id: string } | null | undefined): string | null =>
  value === null || value === undefined ? null : typeof value === 'string' ? value : value.id;

const orderIdOf = (metadata: Stripe.Metadata | null | undefined): string | null => {
  const orderId = metadata?.orderId;
  return typeof orderId === 'string' && orderId.trim() !== '' ? orderId : null;
};

/** Stripe's amount (integer minor units) and currency, forwarded so the orders service checks them. */
const amountOf = (
  amount: number | null | undefined,
  currency: string | null | undefined,
): Pick<PaymentSucceeded, 'amount' | 'currency'> =>
  typeof amount === 'number' && typeof currency === 'string' ? { amount, currency: currency.toLowerCase() } : {};

/** The `payment.succeeded` payload an event stands for, or why it is ignored. */
export function toPaymentSucceeded(event: Stripe.Event): Mapped {
  switch (event.type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded': {
      const session = event.data.object;
      // A completed session paid by a delayed method is settled later by async_payment_succeeded.
      if (event.type === 'checkout.session.completed' && session.payment_status !== 'paid') {
        return { ignored: `payment_status is ${session.payment_status}` };
      }
      const orderId = orderIdOf(session.metadata);
      if (orderId === null) return { ignored: 'no metadata.orderId' };
      return {
        payment: {
          stripePaymentId: idOf(session.payment_intent) ?? session.id,
          orderId,
          receiptUrl: null,
          ...amountOf(session.amount_total, session.currency),
        },
      };
    }
    case 'charge.succeeded': {
      const charge = event.data.object;
      const orderId = orderIdOf(charge.metadata);
      if (orderId === null) return { ignored: 'no metadata.orderId' };
      return {
        payment: {
          // The payment intent id, like the checkout events, so the orders service sees one payment.
          stripePaymentId: idOf(charge.payment_intent) ?? charge.id,
          orderId,
          receiptUrl: charge.receipt_url ?? null,
          ...amountOf(charge.amount, charge.currency),
        },
      };
    }
    default:
      return { ignored: `event type ${event.type} is not handled` };
  }
}

export type StripeMode = 'live' | 'test';

/** Whether a Stripe key is a live or a test one (secret `sk_` or restricted `rk_`); undefined when it says neither. */
export function stripeKeyMode(secretKey: string): StripeMode | undefined {
  if (/^(sk|rk)_live_/.test(secretKey)) return 'live';
  if (/^(sk|rk)_test_/.test(secretKey)) return 'test';
  return undefined;
}

/** Why a signature was refused, in words that never repeat the header, the secret or the body. */
function refusalReason(error: unknown): string {
  if (error instanceof Stripe.errors.StripeSignatureVerificationError) {
    return /tolerance/i.test(error.message) ? 'timestamp outside the tolerance' : 'signature does not match';
  }
  return 'body is not a Stripe event';
}

export function createWebhookHandler(deps: WebhookDeps): WebhookHandler {
  const { logger } = deps;
  return async (rawBody, signature) => {
    if (signature === undefined || signature === '') {
      logger.warn('webhook refused: no stripe-signature header');
      return { status: 400, body: { error: 'Missing stripe-signature header' } };
    }
    let event: Stripe.Event;
    try {
      event = deps.stripe.webhooks.constructEvent(rawBody, signature, deps.webhookSecret, deps.toleranceSeconds);
    } catch (error) {
      // Never log the error object: Stripe's verification error carries the header and the body.
      const reason = refusalReason(error);
      logger.warn({ reason }, 'webhook refused');
      return { status: 400, body: { error: `Webhook refused: ${reason}` } };
    }

    // A test event under a live key (or the reverse) means a misconfigured endpoint or key: refused
    // with 400, never a quiet 2xx, so Stripe's dashboard shows the failing endpoint and it gets fixed.
    const eventMode: StripeMode = event.livemode ? 'live' : 'test';
    if (deps.keyMode !== undefined && eventMode !== deps.keyMode) {
      logger.warn(
        { eventId: event.id, type: event.type, eventMode, keyMode: deps.keyMode },
        `webhook refused: a ${eventMode}-mode event, but STRIPE_SECRET_KEY is a ${deps.keyMode}-mode key`,
      );
      return {
        status: 400,
        body: { error: `Webhook refused: a ${eventMode}-mode event sent to a ${deps.keyMode}-mode payments service` },
      };
    }

    const mapped = toPaymentSucceeded(event);
    if ('ignored' in mapped) {
      logger.info({ eventId: event.id, type: event.type, reason: mapped.ignored }, 'webhook event ignored');
      return { status: 200, body: { received: true, ignored: true } };
    }

    const { payment } = mapped;
    try {
      // Stripe's event id as message id: JetStream drops a redelivered event within its window.
      const ack = await deps.js.publish(
        PAYMENT_SUCCEEDED_SUBJECT,
        encodeEvent(PAYMENT_SUCCEEDED_SUBJECT, payment),
        // With the trace context this handler runs in, when it has one (tracing on).
        { msgID: event.id, timeout: deps.publishTimeoutMs, ...traceHeadersOption() },
      );
      logger.info(
        { eventId: event.id, type: event.type, ...payment, seq: ack.seq, duplicate: ack.duplicate },
        ack.duplicate ? 'payment event already stored' : 'payment event stored',
      );
      return { status: 200, body: { received: true, ...(ack.duplicate ? { duplicate: true } : {}) } };
    } catch (error) {
      // Stripe retries non-2xx answers, so nothing is lost while JetStream is away.
      logger.error({ eventId: event.id, orderId: payment.orderId, err: error }, 'payment event not stored');
      return { status: 503, body: { error: 'Payment event could not be stored, retry later' } };
    }
  };
}
