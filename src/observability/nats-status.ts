import type { NatsConnection } from '@nats-io/nats-core';
import { natsErrors } from './metrics';

/** Counts the connection's disconnects and asynchronous errors in orders_nats_errors_total, until it closes. */
export function countConnectionErrors(nats: NatsConnection): void {
  void (async () => {
    for await (const status of nats.status()) {
      if (status.type === 'disconnect' || status.type === 'error') natsErrors.inc({ kind: status.type });
    }
  })();
}
