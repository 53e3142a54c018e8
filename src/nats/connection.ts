import { connect } from '@nats-io/transport-node';
import {
  credsAuthenticator,
  nkeyAuthenticator,
  type ConnectionOptions,
  type NatsConnection,
  type TlsOptions,
} from '@nats-io/nats-core';
import type { Config } from '../config';
import { readConfiguredFile } from '../config/env';
import type { Logger } from '../logger';
import { countConnectionErrors } from '../observability/nats-status';

type NatsConfig = Config['nats'];

/** `file`, once it is known to be readable. */
function checkedFile(file: string, variable: string): string {
  readConfiguredFile(file, variable);
  return file;
}

/**
 * The connection options for the configured servers, credentials and TLS. Every configured file
 * is read here, so a wrong path fails at start-up naming its variable.
 */
export function natsConnectionOptions(config: NatsConfig, name: string): ConnectionOptions {
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
  if (config.nkeySeedFile !== undefined) {
    const seed = readConfiguredFile(config.nkeySeedFile, 'NATS_NKEY_SEED_FILE').toString('utf8').trim();
    options.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  }
  if (config.credsFile !== undefined) {
    options.authenticator = credsAuthenticator(readConfiguredFile(config.credsFile, 'NATS_CREDS_FILE'));
  }
  const servers = options.servers as string[];
  const wantsTls =
    config.tls === true ||
    servers.some((server) => server.toLowerCase().startsWith('tls://')) ||
    config.tlsCaFile !== undefined ||
    config.tlsCertFile !== undefined;
  if (wantsTls) {
    // A TLS object makes the client refuse a server that does not offer TLS, so credentials
    // never travel in the clear even if a tls:// URL points at a plain server. The files are
    // read again on every reconnect, so renewed certificates are picked up without a restart.
    const tls: TlsOptions = {};
    if (config.tlsCaFile !== undefined) tls.caFile = checkedFile(config.tlsCaFile, 'NATS_TLS_CA_FILE');
    if (config.tlsCertFile !== undefined) tls.certFile = checkedFile(config.tlsCertFile, 'NATS_TLS_CERT_FILE');
    if (config.tlsKeyFile !== undefined) tls.keyFile = checkedFile(config.tlsKeyFile, 'NATS_TLS_KEY_FILE');
    options.tls = tls;
  }
  return options;
}

/**
 * Opens a NATS connection with the configured credentials; `name` shows in NATS monitoring. With a
 * logger, each loss of the server and each reconnection is logged, naming the server.
 */
export async function connectNats(config: NatsConfig, name: string, logger?: Logger): Promise<NatsConnection> {
  const nats = await connect(natsConnectionOptions(config, name));
  countConnectionErrors(nats);
  if (logger !== undefined) logConnectionChanges(nats, logger);
  return nats;
}

/** Until the connection closes: a disconnect at warn (requests fail meanwhile), a reconnect at info. */
function logConnectionChanges(nats: NatsConnection, logger: Logger): void {
  void (async () => {
    for await (const status of nats.status()) {
      if (status.type === 'disconnect') logger.warn({ server: status.server }, 'NATS disconnected; reconnecting');
      else if (status.type === 'reconnect') logger.info({ server: status.server }, 'NATS reconnected');
    }
  })();
}
