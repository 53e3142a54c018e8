import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

/** True when something accepts TCP connections on host:port. */
export function isPortOpen(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Polls `check` until it resolves true. `abort` is consulted between tries, so a starter can give up
 * as soon as the process it waits for has died instead of waiting for the whole timeout.
 */
export async function waitUntil(
  check: () => Promise<boolean>,
  options: { timeoutMs: number; description: string; intervalMs?: number; abort?: () => Error | undefined },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const aborted = options.abort?.();
    if (aborted) throw aborted;
    if (await check()) return;
    if (Date.now() >= deadline) {
      throw new Error(`Timed out after ${options.timeoutMs} ms waiting for ${options.description}`);
    }
    await delay(options.intervalMs ?? 100);
  }
}

/** Resolves once host:port accepts connections; rejects after `timeoutMs` or when `abort` says so. */
export function waitForPort(
  host: string,
  port: number,
  timeoutMs: number,
  abort?: () => Error | undefined,
): Promise<void> {
  return waitUntil(() => isPortOpen(host, port, 500), {
    timeoutMs,
    description: `${host}:${port} to accept connections`,
    abort,
  });
}

/** A TCP port that was free a moment ago (the OS picks it), for services started by tests. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await freePorts(1, host);
  if (port === undefined) throw new Error('could not find a free port');
  return port;
}

/** `count` distinct free ports: all are held open together, so the OS cannot hand out one twice. */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => listenOnAnyPort(host)));
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

function listenOnAnyPort(host: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => resolve(server));
  });
}
