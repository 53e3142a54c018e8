import { setTimeout as pause } from 'node:timers/promises';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { PaymentStreamSettings } from '../config';
import type { Logger } from '../logger';
import { ensureDurableConsumer } from './durable-consumer';
import { ensurePaymentStream, PAYMENT_STREAM } from './payment-stream';

export interface DurableConsumer {
  /** Stops fetching and waits for the message being handled. */
  stop(): Promise<void>;
}

export interface PaymentConsumerOptions {
  durable: string;
  subject: string;
  /** config.paymentStream: the stream (and consumer) is created or updated with these limits, or checked. */
  stream: PaymentStreamSettings;
  concurrency?: number;
}

// A pull waits this long for messages; heartbeats every half of it reveal a stalled loop.
const PULL_EXPIRES_MS = 10_000;
const RESTART_FIRST_DELAY_MS = 500;
const RESTART_MAX_DELAY_MS = 30_000;

/**
 * Handles one subject of the payment stream through a durable consumer, so messages published
 * while the process is down are delivered when it is back. Up to `concurrency` messages are
 * handled at once (each order's workflow serialises its own messages, so two events for one order
 * may be handled side by side). `handle` acknowledges; if it throws, the message is redelivered
 * after a pause.
 *
 * The loop never ends silently: when it ends or fails (its consumer or stream deleted, a pull
 * refused) it is logged, the stream and consumer are ensured again and the loop restarted, with
 * backoff, until `stop()`. A stall (missed heartbeats) is logged as a warning. Only the first
 * start can fail, e.g. on a stream setting NATS cannot update.
 */
export async function consumePaymentStream(
  nats: NatsConnection,
  options: PaymentConsumerOptions,
  handle: (msg: JsMsg) => Promise<void>,
  logger: Logger,
): Promise<DurableConsumer> {
  const concurrency = options.concurrency ?? 1;
  const context = { stream: PAYMENT_STREAM, durable: options.durable, subject: options.subject };
  const stopped = new AbortController();

  const open = async (): Promise<ConsumerMessages> => {
    const stream = await ensurePaymentStream(nats, options.stream);
    if (stream.action !== 'unchanged')
      logger.warn({ ...context, changes: stream.changes }, `payment stream ${stream.action}`);
    const consumer = await ensureDurableConsumer(await jetstreamManager(nats), options, options.stream.setup);
    if (consumer.action === 'updated')
      logger.warn({ ...context, changes: consumer.changes }, 'payment stream consumer updated');
    const pull = await jetstream(nats).consumers.get(PAYMENT_STREAM, options.durable);
    // Missing stream or consumer ends the loop (and it is restarted) instead of waiting for ever.
    return pull.consume({
      max_messages: Math.max(16, 2 * concurrency),
      expires: PULL_EXPIRES_MS,
      abort_on_missing_resource: true,
    });
  };

  const handleOne = async (msg: JsMsg): Promise<void> => {
    try {
      await handle(msg);
    } catch (error) {
      // A dependency is unavailable: leave the message in the stream and try again later.
      logger.error(
        { err: error, subject: options.subject, streamSeq: msg.seq },
        'stream message not handled; will retry',
      );
      msg.nak(2_000);
    }
  };

  /** Until the messages end; a failure of the iterator is thrown after the handlers finish. */
  const run = async (messages: ConsumerMessages): Promise<void> => {
    reportStalls(messages).catch((error: unknown) =>
      logger.warn({ ...context, err: error }, 'payment stream consumer status unavailable'),
    );
    const inFlight = new Set<Promise<void>>();
    try {
      for await (const msg of messages) {
        const handling = handleOne(msg).finally(() => inFlight.delete(handling));
        inFlight.add(handling);
        if (inFlight.size >= concurrency) await Promise.race(inFlight);
      }
    } finally {
      await Promise.all(inFlight);
    }
  };

  const reportStalls = async (messages: ConsumerMessages): Promise<void> => {
    for await (const status of messages.status()) {
      if (status.type === 'heartbeats_missed') {
        logger.warn({ ...context, event: status.type, data: status.count }, 'payment stream consumer stalled');
      } else if (status.type === 'no_responders') {
        logger.warn({ ...context, event: status.type, data: status.code }, 'payment stream consumer stalled');
      }
    }
  };

  let current = await open();
  const supervise = async (): Promise<void> => {
    // Restarts in quick succession keep backing off; a loop that ran a while starts over.
    let backoff = 0;
    for (let restarts = 0; ; restarts += 1) {
      const startedAt = Date.now();
      let reason: unknown = new Error('the message iterator ended');
      try {
        await run(current);
      } catch (error) {
        reason = error;
      }
      if (stopped.signal.aborted) return;
      logger.error({ ...context, err: reason }, 'payment stream consumer stopped; restarting it');
      if (Date.now() - startedAt > RESTART_MAX_DELAY_MS) backoff = 0;
      for (let attempt = 0; ; attempt += 1, backoff += 1) {
        const delay = Math.min(RESTART_FIRST_DELAY_MS * 2 ** backoff, RESTART_MAX_DELAY_MS);
        await pause(delay, undefined, { signal: stopped.signal }).catch(() => undefined);
        if (stopped.signal.aborted) return;
        try {
          const reopened = await open();
          if (stopped.signal.aborted) {
            await reopened.close();
            return;
          }
          current = reopened;
          backoff += 1;
          break;
        } catch (error) {
          logger.error(
            { ...context, err: error, attempt: attempt + 1 },
            'payment stream consumer could not be restarted; will try again',
          );
        }
      }
      logger.warn({ ...context, restarts: restarts + 1 }, 'payment stream consumer restarted');
    }
  };
  const loop = supervise();

  return {
    async stop() {
      stopped.abort();
      await current.close();
      await loop;
    },
  };
}
