import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config';

type TemporalConfig = Config['temporal'];

function connectionOptions(config: TemporalConfig) {
  return {
    address: config.address,
    tls: config.tls ? {} : undefined,
    apiKey: config.apiKey,
  };
}

/** Client side (gateway, scripts): starts, signals, updates and queries workflows. */
export async function connectTemporalClient(config: TemporalConfig): Promise<Client> {
  const connection = await Connection.connect(connectionOptions(config));
  return new Client({ connection, namespace: config.namespace });
}

/** Worker side: the native connection the worker polls with. */
export function connectTemporalWorker(config: TemporalConfig): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(config));
}
