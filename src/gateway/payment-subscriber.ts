import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { NatsConnection } from '@nats-io/nats-core';
import type { JsMsg } from '@nats-io/jetstream';
import { z } from 'zod';
import type { Config } from '../config';
import type { DeadLettersRepository } from '../db/dead-letters-repository';
import type { OrdersRepository } from '../db/orders-repository';
import type { Logger } from '../logger';
import { paymentEvents } from '../observability/metrics';
import { parseEvent, type Parsed } from '../nats/validate-payload';
import { withConsumerSpan, type ContextWhenMissing } from '../nats/consumer-span';
import { contextOfTraceparent } from '../nats/trace-headers';
import { consumePaymentStream, type DurableConsumer } from '../nats/payment-consumer';
import { PAYMENT_SUCCEEDED_SUBJECT } from '../nats/subjects';
import { ORDER_WORKFLOW_TYPE, orderWorkflowId, paymentSucceededSignal } from '../orders/workflow-api';
import type { PaymentSucceeded, SignedPayment } from '../orders/types';
import { signPayment } from '../security/payment-signature';
import type { OrderWorkflow } from '../workflows/order-workflow';
import { orderIdSchema } from './validation';
import { resumedOrderStart } from './workflow-input';

export const PAYMENT_CONSUMER = 'orders-payment-succeeded';

const paymentSucceeded = z
  .object({
    stripePaymentId: z.string().min(1).max(255),
    orderId: orderIdSchema,
    receiptUrl: z.string().max(2048).nullish(),
    // Stripe's amount (integer minor units) and currency, forwarded by payments services that have them.
    amount: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
    currency: z
      .string()
      .regex(/^[a-zA-Z]{3}$/, 'must be a three-letter ISO currency code')
      .transform((currency) => currency.toLowerCase())
      .optional(),
  })
  .refine((payment) => (payment.amount === undefined) === (payment.currency === undefined), {
    error: 'amount and currency come together or not at all',
    path: ['amount'],
  });

export interface PaymentSubscriberDeps {
  nats: NatsConnection;
  temporal: Client;
  orders: OrdersRepository;
  deadLetters: DeadLettersRepository;
  taskQueue: string;
  settings: Config['orders'];
  stream: Config['paymentStream'];
  /** Signs each payment signalled, so the worker can tell the gateway's signals from anyone else's. */
  signingKey: string;
  /** Tracing is on: a payment without trace headers joins its order's trace (kept in the memo). */
  traced: boolean;
  logger: Logger;
}

export type PaymentSubscriber = DurableConsumer;

/** The payment an event carries, or why it cannot be applied. */
function readPayment(msg: JsMsg): Parsed<PaymentSucceeded> {
  const event = parseEvent(paymentSucceeded, msg.data);
  if (event.kind === 'invalid') return event;
  const { amount, currency, ...data } = event.value;
  return {
    kind: 'ok',
    value: {
      ...data,
      receiptUrl: data.receiptUrl ?? null,
      ...(amount !== undefined && currency !== undefined ? { amount, currency } : {}),
    },
  };
}

/**
 * Consumes `payment.succeeded` from the JetStream stream through a durable consumer, so events
 * published while this process is down are delivered when it is back. A message is acknowledged
 * only once Temporal has accepted the signal, or once it is kept as a dead letter.
 */
export async function startPaymentSubscriber(deps: PaymentSubscriberDeps): Promise<PaymentSubscriber> {
  const { nats, temporal, orders, deadLetters, logger } = deps;
  const keepAsDeadLetter = async (msg: JsMsg, reason: string): Promise<void> => {
    await deadLetters.add({
      subject: msg.subject,
      streamSeq: msg.seq,
      reason,
      // PostgreSQL text cannot hold NUL; invalid UTF-8 becomes U+FFFD.
      body: Buffer.from(msg.data)
        .toString('utf8')
        .replace(/\u0000/g, '\\u0000'),
    });
    paymentEvents.inc({ outcome: 'dead_lettered' });
    logger.warn({ streamSeq: msg.seq, reason }, 'payment event kept as a dead letter');
  };

  const handle = async (msg: JsMsg): Promise<void> => {
    const read = readPayment(msg);
    if (read.kind === 'invalid') {
      await keepAsDeadLetter(msg, `invalid payment event: ${read.problem}`);
      msg.ack();
      return;
    }
    const payment = signPayment(read.value, deps.signingKey);
    const workflowId = orderWorkflowId(payment.orderId);
    try {
      await temporal.workflow.getHandle(workflowId).signal(paymentSucceededSignal, payment);
      logger.info({ orderId: payment.orderId, stripePaymentId: payment.stripePaymentId }, 'payment signalled');
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      const order = await orders.findOrder(payment.orderId);
      if (order === null) {
        await keepAsDeadLetter(msg, `no order ${payment.orderId}`);
      } else {
        // The order's workflow has closed: start it again to record the payment (and refund it).
        await temporal.workflow.signalWithStart<typeof OrderWorkflow, [SignedPayment]>(ORDER_WORKFLOW_TYPE, {
          ...resumedOrderStart(order, `a late payment (${payment.stripePaymentId})`, deps),
          signal: paymentSucceededSignal,
          signalArgs: [payment],
        });
        logger.info({ orderId: payment.orderId, stripePaymentId: payment.stripePaymentId }, 'late payment signalled');
      }
    }
    msg.ack();
  };

  /**
   * A payment from a Stripe webhook carries no trace context: it continues its order's trace, whose
   * `traceparent` the gateway kept in the workflow's memo at placement. Best effort: one describe
   * per such payment, only with tracing on.
   */
  const orderTrace: ContextWhenMissing = async (msg) => {
    const read = readPayment(msg);
    if (read.kind === 'invalid') return undefined;
    try {
      const { memo } = await temporal.workflow.getHandle(orderWorkflowId(read.value.orderId)).describe();
      return typeof memo?.traceparent === 'string' ? contextOfTraceparent(memo.traceparent) : undefined;
    } catch {
      return undefined;
    }
  };

  return consumePaymentStream(
    nats,
    {
      durable: PAYMENT_CONSUMER,
      subject: PAYMENT_SUCCEEDED_SUBJECT,
      stream: deps.stream,
      concurrency: deps.settings.paymentConcurrency,
    },
    withConsumerSpan(PAYMENT_SUCCEEDED_SUBJECT, handle, deps.traced ? orderTrace : undefined),
    logger,
  );
}
