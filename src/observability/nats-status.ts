import { Events, type NatsConnection } from 'nats';
import { natsErrors } from './metrics';

/** Counts the connection's disconnects and asynchronous errors in nats_errors_total, until it closes. */
export function countConnectionErrors(nc: NatsConnection): void {
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === Events.Disconnect || status.type === Events.Error) natsErrors.inc({ kind: status.type });
    }
  })();
}
