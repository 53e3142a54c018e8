import { mkdirSync } from 'node:fs';
import { exitedEarlyError, spawnService, type ManagedProcess } from './managed-process';
import { waitForPort } from './ports';

export interface NatsServerOptions {
  binary: string;
  port: number;
  /** JetStream's file store: streams (and so unacknowledged payment events) survive a restart. */
  storeDir: string;
  detached: boolean;
  logFile: string;
  host?: string;
  readyTimeoutMs?: number;
}

/** nats-server with JetStream, resolved once it accepts client connections. */
export async function startNatsServer(options: NatsServerOptions): Promise<ManagedProcess> {
  const host = options.host ?? '127.0.0.1';
  mkdirSync(options.storeDir, { recursive: true });
  const service = await spawnService({
    name: 'nats',
    command: options.binary,
    args: ['-a', host, '-p', String(options.port), '-js', '-sd', options.storeDir],
    logFile: options.logFile,
    detached: options.detached,
  });
  try {
    await waitForPort(host, options.port, options.readyTimeoutMs ?? 30_000, () => exitedEarlyError(service));
  } catch (error) {
    await service.stop();
    throw error;
  }
  return service;
}
