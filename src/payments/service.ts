import type { NatsConnection } from 'nats';
import type Stripe from 'stripe';
import type { PaymentStreamSettings } from '../config';
import type { Logger } from '../logger';
import { serveRequests } from '../nats/nest-transport';
import { ensurePaymentStream } from '../nats/payment-stream';
import { CREATE_PAYMENT_SESSION_SUBJECT, createPaymentSessionHandler } from './create-session';
import { startPaymentsHttpServer } from './http-server';
import { EXPIRE_PAYMENT_SESSION_SUBJECT, expirePaymentSessionHandler } from './expire-session';
import { IDENTIFY_PAYMENTS_SUBJECT, identifyPaymentsHandler } from './identify-payments';
import { startRefundWorker } from './refunds';
import { createWebhookHandler } from './webhook';

export const PAYMENTS_QUEUE_GROUP = 'payments-service';

export interface PaymentsServiceDeps {
  nc: NatsConnection;
  stripe: Stripe;
  logger: Logger;
  /** config.payments.httpPort; 0 picks a free port (tests). */
  httpPort: number;
  /** config.payments.publicUrl: base of the success and cancel URLs given to Stripe. */
  publicUrl: string;
  webhookSecret: string;
  webhookToleranceSeconds: number;
  /** How long the webhook waits for JetStream to store an event (config.nats.requestTimeoutMs). */
  publishTimeoutMs: number;
  /** config.paymentStream: limits of the stream it creates or updates at start-up. */
  stream: PaymentStreamSettings;
  /** config.subjects.createPaymentSession. */
  createSessionSubject?: string;
}

export interface PaymentsService {
  /** Base URL of the HTTP server as bound, e.g. http://127.0.0.1:3003. */
  url: string;
  port: number;
  subject: string;
  /** Closes HTTP (answering webhooks in flight), then stops taking NATS requests; the connection stays open. */
  stop(): Promise<void>;
}

/** Starts the payments service on an open NATS connection; resolves once it is reachable. */
export async function startPaymentsService(deps: PaymentsServiceDeps): Promise<PaymentsService> {
  const stream = await ensurePaymentStream(deps.nc, deps.stream);
  if (stream.action !== 'unchanged') deps.logger.warn({ changes: stream.changes }, `payment stream ${stream.action}`);
  const subject = deps.createSessionSubject ?? CREATE_PAYMENT_SESSION_SUBJECT;
  const handlers: Record<string, (payload: unknown) => Promise<unknown>> = {
    [subject]: createPaymentSessionHandler(deps),
    [EXPIRE_PAYMENT_SESSION_SUBJECT]: expirePaymentSessionHandler(deps),
    [IDENTIFY_PAYMENTS_SUBJECT]: identifyPaymentsHandler(deps),
  };
  const requests = serveRequests(
    deps.nc,
    Object.keys(handlers),
    PAYMENTS_QUEUE_GROUP,
    (payload, requestSubject) => (handlers[requestSubject] as (payload: unknown) => Promise<unknown>)(payload),
    deps.logger,
  );
  // A round trip, so a request sent after this cannot meet "no responders".
  await deps.nc.flush();

  const webhook = createWebhookHandler({
    stripe: deps.stripe,
    js: deps.nc.jetstream(),
    webhookSecret: deps.webhookSecret,
    toleranceSeconds: deps.webhookToleranceSeconds,
    publishTimeoutMs: deps.publishTimeoutMs,
    logger: deps.logger,
  });
  const refunds = await startRefundWorker({ nc: deps.nc, stripe: deps.stripe, logger: deps.logger, stream: deps.stream });
  const http = await startPaymentsHttpServer(
    { webhook, logger: deps.logger, isHealthy: () => !deps.nc.isClosed() },
    deps.httpPort,
  ).catch(async (error: unknown) => {
    // E.g. the port is taken: do not leave the NATS subscriptions behind.
    await Promise.all([requests.drain(), refunds.stop()]);
    throw error;
  });

  return {
    url: http.url,
    port: http.port,
    subject,
    async stop() {
      await http.close();
      await Promise.all([requests.drain(), refunds.stop()]);
    },
  };
}
