import type { NatsConnection } from '@nats-io/nats-core';
import type { JsMsg } from '@nats-io/jetstream';
import { z } from 'zod';
import type { Config } from '../config';
import { isUnrecordedPayment, type RefundsRepository } from '../db/refunds-repository';
import type { Logger } from '../logger';
import { consumePaymentStream, type DurableConsumer } from '../nats/payment-consumer';
import { parseEvent } from '../nats/validate-payload';
import { REFUND_FAILED_SUBJECT, REFUNDED_SUBJECT } from '../nats/subjects';
import { isSignedRefundOutcome, type RefundOutcomeFields } from '../security/refund-signature';
import { orderIdSchema } from './validation';

/**
 * Records the payments service's refund outcomes in `refunds`: `payment.refunded` makes a refund
 * `done`, `payment.refund.failed` `failed` with Stripe's code and message. Both come from the
 * PAYMENTS stream through durable consumers, so an outcome published while the gateway is down is
 * recorded when it is back. Only outcomes signed with REFUND_SIGNING_KEY count (anyone on NATS
 * could publish an unsigned "refunded" to hide a refund still owed), and only for a payment
 * recorded against that order; anything else is logged and acknowledged.
 */

export const REFUNDED_CONSUMER = 'orders-refund-done';
export const REFUND_FAILED_CONSUMER = 'orders-refund-failed';

const refunded = z.object({
  orderId: orderIdSchema,
  stripePaymentId: z.string().min(1).max(255),
  refundId: z.string().min(1).max(255).nullable(),
  signature: z.string().max(200).optional(),
});

const refundFailed = z.object({
  orderId: orderIdSchema,
  stripePaymentId: z.string().min(1).max(255),
  reason: z.string().min(1).max(4096),
  signature: z.string().max(200).optional(),
});

export interface RefundOutcomeSubscriberDeps {
  nats: NatsConnection;
  refunds: RefundsRepository;
  stream: Config['paymentStream'];
  signingKey: string;
  logger: Logger;
}

export interface RefundOutcomeSubscriber {
  stop(): Promise<void>;
}

export async function startRefundOutcomeSubscriber(
  deps: RefundOutcomeSubscriberDeps,
): Promise<RefundOutcomeSubscriber> {
  const { refunds, logger, signingKey } = deps;

  const read = <T extends z.ZodType>(schema: T, msg: JsMsg): z.output<T> | null => {
    const event = parseEvent(schema, msg.data);
    if (event.kind === 'ok') return event.value;
    logger.warn({ subject: msg.subject, streamSeq: msg.seq, reason: event.problem }, 'unreadable refund outcome');
    return null;
  };

  const record = async (
    msg: JsMsg,
    outcome: RefundOutcomeFields,
    signature: string | undefined,
    settle: () => Promise<unknown>,
  ): Promise<void> => {
    const context = { orderId: outcome.orderId, stripePaymentId: outcome.stripePaymentId, streamSeq: msg.seq };
    if (!isSignedRefundOutcome(outcome, signature, signingKey)) {
      logger.warn({ ...context, subject: msg.subject }, 'refund outcome not signed by the payments service; ignored');
      msg.ack();
      return;
    }
    try {
      await settle();
      logger.info({ ...context, outcome: outcome.kind }, 'refund outcome recorded');
    } catch (error) {
      // No such payment recorded against the order: nothing of ours to settle. Anything else (the
      // database away) is redelivered.
      if (!isUnrecordedPayment(error)) throw error;
      logger.warn(
        { ...context, outcome: outcome.kind },
        'refund outcome for a payment not recorded on its order; ignored',
      );
    }
    msg.ack();
  };

  const done = async (msg: JsMsg): Promise<void> => {
    const event = read(refunded, msg);
    if (event === null) return msg.ack();
    const { signature, ...fields } = event;
    await record(msg, { kind: 'refunded', ...fields }, signature, () =>
      refunds.settle({
        orderId: fields.orderId,
        stripePaymentId: fields.stripePaymentId,
        status: 'done',
        stripeRefundId: fields.refundId,
      }),
    );
  };

  const failed = async (msg: JsMsg): Promise<void> => {
    const event = read(refundFailed, msg);
    if (event === null) return msg.ack();
    const { signature, ...fields } = event;
    await record(msg, { kind: 'failed', ...fields }, signature, () =>
      refunds.settle({
        orderId: fields.orderId,
        stripePaymentId: fields.stripePaymentId,
        status: 'failed',
        failure: fields.reason,
      }),
    );
  };

  const consumers: DurableConsumer[] = [];
  try {
    consumers.push(
      await consumePaymentStream(
        deps.nats,
        { durable: REFUNDED_CONSUMER, subject: REFUNDED_SUBJECT, stream: deps.stream },
        done,
        logger,
      ),
    );
    consumers.push(
      await consumePaymentStream(
        deps.nats,
        { durable: REFUND_FAILED_CONSUMER, subject: REFUND_FAILED_SUBJECT, stream: deps.stream },
        failed,
        logger,
      ),
    );
  } catch (error) {
    await Promise.all(consumers.map((consumer) => consumer.stop()));
    throw error;
  }
  return {
    async stop() {
      await Promise.all(consumers.map((consumer) => consumer.stop()));
    },
  };
}
