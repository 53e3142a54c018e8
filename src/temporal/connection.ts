import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { Config } from '../config';
import { readConfiguredFile } from '../config/env';
import { EncryptionCodec } from '../security/payload-codec';
import { tracingClientInterceptors } from './tracing-interceptors';

type TemporalConfig = Config['temporal'];

/** What both the client Connection and the worker's NativeConnection take. */
export interface TemporalConnectionOptions {
  address: string;
  tls: ConnectionOptions['tls'];
  apiKey?: string;
}

/**
 * Address, TLS (server CA, client certificate, server name) and API key, read from the configured
 * files once, so a wrong path fails at start-up naming its variable.
 */
export function temporalConnectionOptions(config: TemporalConfig): TemporalConnectionOptions {
  // Explicitly false when off: left undefined, the SDK would decide on its own.
  const options: TemporalConnectionOptions = { address: config.address, tls: false };
  if (config.tls) {
    options.tls = {
      ...(config.tlsServerName !== undefined ? { serverNameOverride: config.tlsServerName } : {}),
      ...(config.tlsCaFile !== undefined
        ? { serverRootCACertificate: readConfiguredFile(config.tlsCaFile, 'TEMPORAL_TLS_CA_FILE') }
        : {}),
      ...(config.tlsCertFile !== undefined && config.tlsKeyFile !== undefined
        ? {
            clientCertPair: {
              crt: readConfiguredFile(config.tlsCertFile, 'TEMPORAL_TLS_CERT_FILE'),
              key: readConfiguredFile(config.tlsKeyFile, 'TEMPORAL_TLS_KEY_FILE'),
            },
          }
        : {}),
    };
  }
  if (config.apiKey !== undefined) options.apiKey = config.apiKey;
  return options;
}

/**
 * The data converter every client and the worker share: with TEMPORAL_ENCRYPTION_KEY set,
 * payloads are encrypted before they leave the process; otherwise the SDK's default (plain JSON).
 */
export function temporalDataConverter(config: TemporalConfig): DataConverter | undefined {
  if (config.encryption === undefined) return undefined;
  return { payloadCodecs: [new EncryptionCodec(config.encryption)] };
}

/**
 * Client side (gateway, scripts): starts, signals, updates and queries workflows; with `tracing`,
 * each call is a span whose context travels to the workflow in Temporal headers.
 */
export async function connectTemporalClient(
  config: TemporalConfig,
  options: { tracing?: boolean } = {},
): Promise<Client> {
  const connection = await Connection.connect(temporalConnectionOptions(config));
  return new Client({
    connection,
    namespace: config.namespace,
    dataConverter: temporalDataConverter(config),
    interceptors: tracingClientInterceptors(options.tracing ?? false),
  });
}
