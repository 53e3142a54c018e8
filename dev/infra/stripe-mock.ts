import { exitedEarlyError, spawnService, type ManagedProcess } from './managed-process';
import { freePort, waitForPort } from './ports';

export interface StripeMockOptions {
  binary: string;
  httpPort: number;
  /** stripe-mock always serves HTTPS too (on 12112 unless told otherwise): a free port by default. */
  httpsPort?: number;
  detached: boolean;
  logFile: string;
  host?: string;
  readyTimeoutMs?: number;
}

/** stripe-mock, Stripe's API simulator, resolved once its HTTP port answers. */
export async function startStripeMock(options: StripeMockOptions): Promise<ManagedProcess> {
  const host = options.host ?? '127.0.0.1';
  const httpsPort = options.httpsPort ?? (await freePort(host));
  const args = ['-http-addr', `${host}:${options.httpPort}`, '-https-addr', `${host}:${httpsPort}`];
  const service = await spawnService({
    name: 'stripe-mock',
    command: options.binary,
    args,
    logFile: options.logFile,
    detached: options.detached,
  });
  try {
    await waitForPort(host, options.httpPort, options.readyTimeoutMs ?? 30_000, () => exitedEarlyError(service));
  } catch (error) {
    await service.stop();
    throw error;
  }
  return service;
}
