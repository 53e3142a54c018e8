import type { NatsConnection } from '@nats-io/nats-core';
import {
  jetstream,
  jetstreamManager,
  AckPolicy,
  DeliverPolicy,
  RetentionPolicy,
  StorageType,
  type JsMsg,
} from '@nats-io/jetstream';

/**
 * A JetStream stream capturing one subject (plain publishes from NestJS peers included) and a
 * durable consumer on it. Messages are handled up to `parallel` at a time, each acknowledged once
 * its handler succeeded and redelivered after a pause when it throws.
 */
export interface StreamConsumer {
  stop(): Promise<void>;
}

export async function consumeStream(
  nats: NatsConnection,
  options: { stream: string; subject: string; durable: string; parallel: number },
  handle: (msg: JsMsg) => Promise<void>,
  onError: (error: unknown) => void,
): Promise<StreamConsumer> {
  const jsm = await jetstreamManager(nats);
  try {
    await jsm.streams.info(options.stream);
  } catch {
    await jsm.streams.add({
      name: options.stream,
      subjects: [options.subject],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
    });
  }
  await jsm.consumers.add(options.stream, {
    durable_name: options.durable,
    filter_subject: options.subject,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: 30 * 1_000_000_000,
    max_ack_pending: 1_000,
  });
  const consumer = await jetstream(nats).consumers.get(options.stream, options.durable);
  const messages = await consumer.consume({ max_messages: options.parallel });
  const inFlight = new Set<Promise<void>>();
  const loop = (async () => {
    for await (const msg of messages) {
      const work = handle(msg)
        .then(() => msg.ack())
        .catch((error: unknown) => {
          onError(error);
          msg.nak(1_000);
        })
        .finally(() => inFlight.delete(work));
      inFlight.add(work);
      if (inFlight.size >= options.parallel) await Promise.race(inFlight);
    }
  })();
  return {
    async stop() {
      await messages.close();
      await loop;
      await Promise.allSettled([...inFlight]);
    },
  };
}
