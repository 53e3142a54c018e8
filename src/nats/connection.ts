import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, type ConnectionOptions, type NatsConnection } from 'nats';
import type { Config } from '../config';

/** Opens a NATS connection with the configured credentials; `name` shows in NATS monitoring. */
export async function connectNats(config: Config['nats'], name: string): Promise<NatsConnection> {
  const options: ConnectionOptions = {
    servers: config.url.split(',').map((server) => server.trim()),
    name,
    // Keep trying for ever: an outage of NATS delays work, it must not kill the process.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
  };
  if (config.user !== undefined) options.user = config.user;
  if (config.password !== undefined) options.pass = config.password;
  if (config.token !== undefined) options.token = config.token;
  if (config.credsFile !== undefined) {
    options.authenticator = credsAuthenticator(readFileSync(config.credsFile));
  }
  return connect(options);
}
