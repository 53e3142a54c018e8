import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, type JsMsg } from '@nats-io/jetstream';
import Stripe from 'stripe';
import { z } from 'zod';
import type { Logger } from '../logger';
import { encodeEvent } from '../nats/nest-transport';
import { parseEvent } from '../nats/validate-payload';
import type { PaymentStreamSettings } from '../config';
import { consumePaymentStream, type DurableConsumer } from '../nats/payment-consumer';
import { PAYMENT_STREAM } from '../nats/payment-stream';
import { REFUND_FAILED_SUBJECT, REFUND_REQUESTED_SUBJECT, REFUNDED_SUBJECT } from '../nats/subjects';
import { isSignedRefundRequest, signRefundOutcome, type RefundOutcomeFields } from '../security/refund-signature';

/**
 * Acts on `payment.refund.requested` (a payment for a cancelled or already paid order). It refunds
 * only a request the worker signed (REFUND_SIGNING_KEY), and only a payment that Stripe says is the
 * order's own (`metadata.orderId`, which the checkout session puts on the payment intent), once per
 * payment (idempotency key). Every outcome is stored in the PAYMENTS stream, signed, for the
 * orders gateway to record: `payment.refunded` {orderId, stripePaymentId, refundId} (refundId
 * null when Stripe says it was already refunded) or `payment.refund.failed` {orderId,
 * stripePaymentId, reason}. Only Stripe or NATS being away is retried.
 */

export const REFUND_CONSUMER = 'payments-refunds';

const refundRequest = z.object({
  orderId: z.string().min(1),
  // A payment intent, or a charge: ch_ for cards, py_ for other payment methods (both Charge objects).
  stripePaymentId: z.string().regex(/^(pi|ch|py)_[\w-]+$/),
  reason: z.string().optional(),
  signature: z.string().max(200).optional(),
});

export type RefundRequestConsumer = DurableConsumer;

export interface RefundRequestConsumerDeps {
  nats: NatsConnection;
  stripe: Stripe;
  logger: Logger;
  stream: PaymentStreamSettings;
  /** REFUND_SIGNING_KEY: requests must be signed with it, outcomes are signed with it. */
  signingKey: string;
  /**
   * PAYMENT_VERIFICATION: `stripe` also asks Stripe that the payment is the order's
   * (`metadata.orderId`) before refunding it; `events` trusts the worker's signed request (the
   * worker asks only for payments recorded against the order), as stripe-mock remembers nothing.
   */
  verification: 'events' | 'stripe';
  /** How long an outcome's JetStream publish may wait for its acknowledgement. */
  publishTimeoutMs?: number;
}

/** Stripe's refusal as recorded: its code (when it gives one) and its message. */
const stripeFailure = (error: Stripe.errors.StripeError): string => `${error.code ?? error.type}: ${error.message}`;

/** The order a Stripe payment belongs to, by its metadata; a charge falls back to its payment intent. */
async function ownerOf(stripe: Stripe, stripePaymentId: string): Promise<string | null> {
  if (stripePaymentId.startsWith('pi_')) {
    return (await stripe.paymentIntents.retrieve(stripePaymentId)).metadata?.orderId ?? null;
  }
  const charge = await stripe.charges.retrieve(stripePaymentId);
  const own = charge.metadata?.orderId;
  if (own !== undefined) return own;
  const intent = charge.payment_intent;
  if (intent === null) return null;
  if (typeof intent !== 'string') return intent.metadata?.orderId ?? null;
  return (await stripe.paymentIntents.retrieve(intent)).metadata?.orderId ?? null;
}

export async function startRefundRequestConsumer(deps: RefundRequestConsumerDeps): Promise<RefundRequestConsumer> {
  const { nats, stripe, logger, signingKey } = deps;
  const js = jetstream(nats);

  /** Stores the signed outcome in the stream; throws (the request is redelivered) until it is stored. */
  const announce = async (outcome: RefundOutcomeFields, msgId: string): Promise<void> => {
    const { kind, ...fields } = outcome;
    const subject = kind === 'refunded' ? REFUNDED_SUBJECT : REFUND_FAILED_SUBJECT;
    await js.publish(subject, encodeEvent(subject, { ...fields, signature: signRefundOutcome(outcome, signingKey) }), {
      msgID: msgId,
      expect: { streamName: PAYMENT_STREAM },
      timeout: deps.publishTimeoutMs ?? 5_000,
    });
  };

  const refuse = async (
    msg: JsMsg,
    request: { orderId: string; stripePaymentId: string },
    reason: string,
  ): Promise<void> => {
    logger.warn({ orderId: request.orderId, stripePaymentId: request.stripePaymentId, reason }, 'refund refused');
    await announce(
      { kind: 'failed', orderId: request.orderId, stripePaymentId: request.stripePaymentId, reason },
      `refund-failed-${request.stripePaymentId}-${msg.seq}`,
    );
    msg.ack();
  };

  const refund = async (msg: JsMsg): Promise<void> => {
    const event = parseEvent(refundRequest, msg.data);
    if (event.kind === 'invalid') {
      // Retrying cannot make it readable: keep it in the stream for an operator, stop redelivering.
      logger.warn({ streamSeq: msg.seq, reason: event.problem }, 'unreadable refund request');
      msg.term();
      return;
    }
    const request = event.value;
    const { orderId, stripePaymentId } = request;
    const signed = { orderId, stripePaymentId, reason: request.reason ?? '' };
    if (!isSignedRefundRequest(signed, request.signature, signingKey)) {
      // Not the worker's: nothing is refunded and nothing is announced (a signed "failed" outcome
      // for anyone's request would let them mark a genuine refund owed as failed).
      logger.warn(
        {
          orderId,
          stripePaymentId,
          streamSeq: msg.seq,
          reason: request.signature === undefined ? 'not signed' : 'signature not valid',
        },
        'refund request refused: not signed with REFUND_SIGNING_KEY',
      );
      msg.term();
      return;
    }
    try {
      const owner = deps.verification === 'stripe' ? await ownerOf(stripe, stripePaymentId) : orderId;
      if (owner !== orderId) {
        await refuse(
          msg,
          request,
          owner === null
            ? `not_order_payment: Stripe payment ${stripePaymentId} carries no metadata.orderId, so it is not order ${orderId}'s`
            : `not_order_payment: Stripe payment ${stripePaymentId} belongs to order ${owner}, not ${orderId}`,
        );
        return;
      }
      const target = stripePaymentId.startsWith('pi_')
        ? { payment_intent: stripePaymentId }
        : { charge: stripePaymentId };
      let refundId: string | null;
      try {
        const created = await stripe.refunds.create(
          { ...target, metadata: { orderId } },
          { idempotencyKey: `refund-${stripePaymentId}` },
        );
        refundId = created.id;
      } catch (error) {
        if (!(error instanceof Stripe.errors.StripeInvalidRequestError) || error.code !== 'charge_already_refunded')
          throw error;
        // Refunded before (by an operator in the dashboard, or by an earlier attempt): done.
        refundId = null;
      }
      logger.info({ orderId, stripePaymentId, refundId }, 'payment refunded');
      await announce({ kind: 'refunded', orderId, stripePaymentId, refundId }, `refunded-${stripePaymentId}`);
      msg.ack();
    } catch (error) {
      if (error instanceof Stripe.errors.StripeInvalidRequestError) {
        // Unknown payment, not refundable...: Stripe's answer is final, and recorded as a failure.
        await refuse(msg, request, stripeFailure(error));
        return;
      }
      logger.error({ orderId, reason: (error as Error).message }, 'refund failed; will retry');
      msg.nak(5_000);
    }
  };

  return consumePaymentStream(
    nats,
    { durable: REFUND_CONSUMER, subject: REFUND_REQUESTED_SUBJECT, stream: deps.stream },
    refund,
    logger,
  );
}
