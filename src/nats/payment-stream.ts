import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, type JsMsg, type NatsConnection } from 'nats';
import type { Logger } from '../logger';

/** JetStream stream that captures `payment.succeeded`, including plain publishes from NestJS peers. */
export const PAYMENT_STREAM = 'PAYMENTS';
export const PAYMENT_SUCCEEDED_SUBJECT = 'payment.succeeded';
export const REFUND_REQUESTED_SUBJECT = 'payment.refund.requested';

/** Creates the stream, or leaves it as it is when it exists; safe to call from every process. */
export async function ensurePaymentStream(nc: NatsConnection): Promise<void> {
  const jsm = await nc.jetstreamManager();
  try {
    await jsm.streams.info(PAYMENT_STREAM);
  } catch {
    try {
      await jsm.streams.add({
        name: PAYMENT_STREAM,
        subjects: [PAYMENT_SUCCEEDED_SUBJECT, REFUND_REQUESTED_SUBJECT],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        // Deduplicates webhook retries published with the Stripe event id as message id.
        duplicate_window: 24 * 60 * 60 * 1_000_000_000,
      });
    } catch (error) {
      // Another process created it between our two calls.
      await jsm.streams.info(PAYMENT_STREAM).catch(() => {
        throw error;
      });
    }
  }
}

export interface DurableConsumer {
  /** Stops fetching and waits for the message being handled. */
  stop(): Promise<void>;
}

/**
 * Handles one subject of the payment stream through a durable consumer, so messages published
 * while the process is down are delivered when it is back. Up to `concurrency` messages are
 * handled at once (each order's workflow serialises its own messages, so two events for one order
 * may be handled side by side). `handle` acknowledges; if it throws, the message is redelivered
 * after a pause.
 */
export async function consumePaymentStream(
  nc: NatsConnection,
  options: { durable: string; subject: string; concurrency?: number },
  handle: (msg: JsMsg) => Promise<void>,
  logger: Logger,
): Promise<DurableConsumer> {
  const concurrency = options.concurrency ?? 1;
  await ensurePaymentStream(nc);
  const jsm = await nc.jetstreamManager();
  await jsm.consumers.add(PAYMENT_STREAM, {
    durable_name: options.durable,
    filter_subject: options.subject,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: 30 * 1_000_000_000,
  });
  const consumer = await nc.jetstream().consumers.get(PAYMENT_STREAM, options.durable);
  const messages = await consumer.consume({ max_messages: Math.max(16, 2 * concurrency) });
  const inFlight = new Set<Promise<void>>();
  const handleOne = async (msg: JsMsg): Promise<void> => {
    try {
      await handle(msg);
    } catch (error) {
      // A dependency is unavailable: leave the message in the stream and try again later.
      logger.error({ err: error, subject: options.subject, streamSeq: msg.seq }, 'stream message not handled; will retry');
      msg.nak(2_000);
    }
  };
  const loop = (async () => {
    for await (const msg of messages) {
      const handling = handleOne(msg).finally(() => inFlight.delete(handling));
      inFlight.add(handling);
      if (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  })();
  return {
    async stop() {
      await messages.close();
      await loop;
    },
  };
}
