import type { JsMsg, NatsConnection } from 'nats';
import Stripe from 'stripe';
import { z } from 'zod';
import type { Logger } from '../logger';
import { publishEvent, RpcError } from '../nats/nest-transport';
import { readEventPayload } from '../nats/validate-payload';
import type { PaymentStreamSettings } from '../config';
import { consumePaymentStream, type DurableConsumer } from '../nats/payment-consumer';
import { REFUND_REQUESTED_SUBJECT, REFUNDED_SUBJECT } from '../nats/subjects';

/**
 * Acts on `payment.refund.requested` (a payment for a cancelled or already paid order): refunds
 * it with Stripe, once per payment (idempotency key), then announces `payment.refunded`.
 */

export const REFUND_CONSUMER = 'payments-refunds';

const refundRequest = z.object({
  orderId: z.string().min(1),
  stripePaymentId: z.string().regex(/^(pi|ch)_[\w-]+$/),
  reason: z.string().optional(),
});

export type RefundRequestConsumer = DurableConsumer;

export interface RefundRequestConsumerDeps {
  nc: NatsConnection;
  stripe: Stripe;
  logger: Logger;
  stream: PaymentStreamSettings;
}

export async function startRefundRequestConsumer(deps: RefundRequestConsumerDeps): Promise<RefundRequestConsumer> {
  const { nc, stripe, logger } = deps;
  const refund = async (msg: JsMsg): Promise<void> => {
    let request: z.infer<typeof refundRequest>;
    try {
      request = readEventPayload(refundRequest, msg.data);
    } catch (error) {
      if (!(error instanceof RpcError)) throw error;
      // Retrying cannot make it readable: keep it in the stream for an operator, stop redelivering.
      logger.warn({ streamSeq: msg.seq, reason: (error as Error).message }, 'unreadable refund request');
      msg.term();
      return;
    }
    const target = request.stripePaymentId.startsWith('pi_')
      ? { payment_intent: request.stripePaymentId }
      : { charge: request.stripePaymentId };
    try {
      const created = await stripe.refunds.create(
        { ...target, metadata: { orderId: request.orderId } },
        { idempotencyKey: `refund-${request.stripePaymentId}` },
      );
      logger.info(
        { orderId: request.orderId, stripePaymentId: request.stripePaymentId, refundId: created.id },
        'payment refunded',
      );
      publishEvent(nc, REFUNDED_SUBJECT, {
        orderId: request.orderId,
        stripePaymentId: request.stripePaymentId,
        refundId: created.id,
      });
      msg.ack();
    } catch (error) {
      if (error instanceof Stripe.errors.StripeInvalidRequestError) {
        // Already refunded, or not refundable: Stripe's answer is final.
        logger.warn(
          { orderId: request.orderId, stripePaymentId: request.stripePaymentId, reason: error.message },
          'refund refused',
        );
        msg.ack();
        return;
      }
      logger.error({ orderId: request.orderId, reason: (error as Error).message }, 'refund failed; will retry');
      msg.nak(5_000);
    }
  };

  return consumePaymentStream(
    nc,
    { durable: REFUND_CONSUMER, subject: REFUND_REQUESTED_SUBJECT, stream: deps.stream },
    refund,
    logger,
  );
}
