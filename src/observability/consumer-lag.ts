import type { NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { consumerLagReaders, consumerPending } from './metrics';

/**
 * Reports a durable consumer's num_pending as orders_jetstream_consumer_pending_messages, asked of the
 * server at each scrape (never older than the scrape). Returns a function that stops reporting it.
 */
export function watchConsumerLag(nats: NatsConnection, stream: string, consumer: string): () => void {
  const labels = { stream, consumer };
  let manager: JetStreamManager | undefined;
  const read = async (): Promise<void> => {
    try {
      manager ??= await jetstreamManager(nats, { timeout: 2_000 });
      const info = await manager.consumers.info(stream, consumer);
      consumerPending.set(labels, info.num_pending);
    } catch {
      // Unknown now (NATS unreachable): no value rather than a stale one; /readyz says why.
      consumerPending.remove(labels);
    }
  };
  consumerLagReaders.add(read);
  return () => {
    consumerLagReaders.delete(read);
    consumerPending.remove(labels);
  };
}
