import type { JetStreamClient } from 'nats';
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
        payment: { stripePaymentId: idOf(session.payment_intent) ?? session.id, orderId, receiptUrl: null },
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
        },
      };
    }
    default:
      return { ignored: `event type ${event.type} is not handled` };
  }
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
