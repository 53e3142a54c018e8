import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream } from '@nats-io/jetstream';
import type Stripe from 'stripe';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { serveRequests } from '../nats/nest-transport';
import { ensurePaymentStream } from '../nats/payment-stream';
import { PAYMENTS_SUBJECTS } from '../nats/subjects';
import { createPaymentSessionHandler } from './create-session';
import { expirePaymentSessionHandler } from './expire-session';
import { startPaymentsHttpServer } from './http-server';
import { identifyPaymentsHandler } from './identify-payments';
import { startRefundRequestConsumer } from './refund-request-consumer';
import { createWebhookHandler, stripeKeyMode } from './webhook';

export const PAYMENTS_QUEUE_GROUP = 'payments-service';

export interface PaymentsServiceDeps {
  nats: NatsConnection;
  stripe: Stripe;
  logger: Logger;
  /**
   * payments: its HTTP port (0 picks a free one) and public URL; stripe: the webhook secret and
   * tolerance; subjects: the session requests it answers; paymentStream: the stream it creates or
   * updates (or checks) at start-up; nats.requestTimeoutMs: how long the webhook waits for
   * JetStream; nats.inboxPrefixes: the reply subjects it answers on.
   */
  config: Pick<Config, 'payments' | 'stripe' | 'subjects' | 'paymentStream' | 'refunds' | 'paymentTrust'> & {
    nats: Pick<Config['nats'], 'requestTimeoutMs' | 'inboxPrefixes'>;
  };
}

export interface PaymentsService {
  /** Base URL of the HTTP server as bound, e.g. http://127.0.0.1:3003. */
  url: string;
  port: number;
  subjects: string[];
  /** Closes HTTP (answering webhooks in flight), then stops taking NATS requests; the connection stays open. */
  stop(): Promise<void>;
}

/** Starts the payments service on an open NATS connection; resolves once it is reachable. */
export async function startPaymentsService({
  nats,
  stripe,
  logger,
  config,
}: PaymentsServiceDeps): Promise<PaymentsService> {
  const stream = await ensurePaymentStream(nats, config.paymentStream);
  if (stream.action !== 'unchanged') logger.warn({ changes: stream.changes }, `payment stream ${stream.action}`);
  const requests = serveRequests(
    nats,
    {
      [config.subjects.createPaymentSession]: createPaymentSessionHandler({
        stripe,
        logger,
        publicUrl: config.payments.publicUrl,
      }),
      [config.subjects.expirePaymentSession]: expirePaymentSessionHandler({ stripe, logger }),
      // This payments service always offers it; the orders side may have turned asking it off.
      [config.subjects.identifyPayments ?? PAYMENTS_SUBJECTS.identify]: identifyPaymentsHandler({ stripe, logger }),
    },
    PAYMENTS_QUEUE_GROUP,
    logger,
    config.nats.inboxPrefixes,
  );
  // A round trip, so a request sent after this cannot meet "no responders".
  await nats.flush();

  const webhook = createWebhookHandler({
    stripe,
    js: jetstream(nats),
    webhookSecret: config.stripe.webhookSecret,
    toleranceSeconds: config.stripe.webhookToleranceSeconds,
    publishTimeoutMs: config.nats.requestTimeoutMs,
    keyMode: stripeKeyMode(config.stripe.secretKey),
    logger,
  });
  const refunds = await startRefundRequestConsumer({
    nats,
    stripe,
    logger,
    stream: config.paymentStream,
    signingKey: config.refunds.signingKey,
    verification: config.paymentTrust.verification,
    publishTimeoutMs: config.nats.requestTimeoutMs,
  });
  const http = await startPaymentsHttpServer(
    { webhook, logger, isHealthy: () => !nats.isClosed() },
    config.payments.httpPort,
  ).catch(async (error: unknown) => {
    // E.g. the port is taken: do not leave the NATS subscriptions behind.
    await Promise.all([requests.drain(), refunds.stop()]);
    throw error;
  });

  return {
    url: http.url,
    port: http.port,
    subjects: requests.subjects,
    async stop() {
      await http.close();
      await Promise.all([requests.drain(), refunds.stop()]);
    },
  };
}
