import type { Client } from '@temporalio/client';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Config } from '../config';
import { createDeadLettersRepository } from '../db/dead-letters-repository';
import { createOrdersRepository } from '../db/orders-repository';
import { createRefundsRepository } from '../db/refunds-repository';
import type { DatabasePool } from '../db/pool';
import { isDatabaseUnavailable } from '../db/unavailable';
import type { Logger } from '../logger';
import { RpcError } from '../rpc-error';
import { serveRequests, withAliases, type RequestHandler, type RequestHandlers } from '../nats/nest-transport';
import { ORDER_SUBJECT_ALIASES, type OrderSubject } from '../nats/subjects';
import { FailureType } from '../orders/errors';
import { createOrderHandlers } from './order-handlers';
import { startPaymentSubscriber } from './payment-subscriber';
import { signalPaymentWindowEnded, startPaymentWindowSweeper } from './payment-window-sweeper';
import { startRefundOutcomeSubscriber } from './refund-outcome-subscriber';
import { toWireError } from './wire-errors';

export interface GatewayDeps {
  config: Config;
  logger: Logger;
  nats: NatsConnection;
  temporal: Client;
  pool: DatabasePool;
}

export interface Gateway {
  /** The subjects it answers, aliases included. */
  subjects: string[];
  /** Stops taking requests and events, and finishes those in flight. */
  stop(): Promise<void>;
}

/**
 * A database outage is a 503 the caller can retry, never a 500; the database's error is its cause,
 * for the log. An answer already made for the caller (an RpcError) is left as it is, whatever its
 * cause says.
 */
export function databaseOutageAs503(handle: RequestHandler): RequestHandler {
  return async (payload) => {
    try {
      return await handle(payload);
    } catch (error) {
      if (error instanceof RpcError || !isDatabaseUnavailable(error)) throw error;
      throw toWireError(
        FailureType.DatabaseUnavailable,
        'The orders database is unavailable right now; retry shortly (with the same idempotencyKey)',
        {},
        { cause: error },
      );
    }
  };
}

/**
 * The orders gateway: NATS request handlers, the payment and refund outcome subscribers, and the
 * sweeper that signals ended payment windows.
 */
export async function startGateway({ config, logger, nats, temporal, pool }: GatewayDeps): Promise<Gateway> {
  const orders = createOrdersRepository(pool);
  const handlers: Record<OrderSubject, RequestHandler> = createOrderHandlers({
    temporal,
    orders,
    taskQueue: config.temporal.taskQueue,
    settings: config.orders,
    logger,
  });
  const guarded: RequestHandlers = Object.fromEntries(
    Object.entries(withAliases(handlers, ORDER_SUBJECT_ALIASES)).map(([subject, handle]) => [
      subject,
      databaseOutageAs503(handle),
    ]),
  );
  const server = serveRequests(nats, guarded, config.nats.queueGroup, logger, config.nats.inboxPrefixes);
  // A round trip, so a request sent once this resolves cannot meet "no responders".
  await nats.flush();
  const payments = await startPaymentSubscriber({
    nats,
    temporal,
    orders,
    deadLetters: createDeadLettersRepository(pool),
    taskQueue: config.temporal.taskQueue,
    settings: config.orders,
    stream: config.paymentStream,
    signingKey: config.paymentTrust.signingKey,
    traced: config.tracing.enabled,
    logger,
  });
  const refundOutcomes = await startRefundOutcomeSubscriber({
    nats,
    refunds: createRefundsRepository(pool),
    stream: config.paymentStream,
    signingKey: config.refunds.signingKey,
    logger,
  }).catch(async (error: unknown) => {
    await Promise.all([server.drain(), payments.stop()]);
    throw error;
  });
  const paymentWindows = startPaymentWindowSweeper({
    orders,
    signal: signalPaymentWindowEnded({
      temporal,
      orders,
      taskQueue: config.temporal.taskQueue,
      settings: config.orders,
    }),
    intervalMs: config.orders.paymentWindowSweepMs,
    logger,
  });
  return {
    subjects: server.subjects,
    async stop() {
      await Promise.all([server.drain(), payments.stop(), refundOutcomes.stop(), paymentWindows.stop()]);
    },
  };
}
