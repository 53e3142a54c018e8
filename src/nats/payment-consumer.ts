import type { JsMsg, NatsConnection } from 'nats';
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
  /** config.paymentStream: the stream is created, or updated, with these limits. */
  stream: PaymentStreamSettings;
  concurrency?: number;
}

/**
 * Handles one subject of the payment stream through a durable consumer, so messages published
 * while the process is down are delivered when it is back. Up to `concurrency` messages are
 * handled at once (each order's workflow serialises its own messages, so two events for one order
 * may be handled side by side). `handle` acknowledges; if it throws, the message is redelivered
 * after a pause. The stream and the consumer are created, or updated, first.
 */
export async function consumePaymentStream(
  nc: NatsConnection,
  options: PaymentConsumerOptions,
  handle: (msg: JsMsg) => Promise<void>,
  logger: Logger,
): Promise<DurableConsumer> {
  const concurrency = options.concurrency ?? 1;
  const context = { stream: PAYMENT_STREAM, durable: options.durable, subject: options.subject };
  const stream = await ensurePaymentStream(nc, options.stream);
  if (stream.action !== 'unchanged') logger.warn({ ...context, changes: stream.changes }, `payment stream ${stream.action}`);
  const consumer = await ensureDurableConsumer(await nc.jetstreamManager(), options);
  if (consumer.action === 'updated') logger.warn({ ...context, changes: consumer.changes }, 'payment stream consumer updated');
  const pull = await nc.jetstream().consumers.get(PAYMENT_STREAM, options.durable);
  const messages = await pull.consume({ max_messages: Math.max(16, 2 * concurrency) });
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
