import { readFileSync } from 'node:fs';
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

/**
 * A TCP port that was free a moment ago, for services started by tests and the dev stack. It lies
 * below the kernel's ephemeral range, so no outgoing connection can take it before the service
 * binds it (a port from bind(0) can be handed to the next connect() a moment later).
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await freePorts(1, host);
  if (port === undefined) throw new Error('could not find a free port');
  return port;
}

/** `count` distinct free ports: all are held open together, so none is handed out twice. */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const range = listeningPortRange();
  const servers: net.Server[] = [];
  try {
    while (servers.length < count) servers.push(await listenOnUnassignedPort(host, range));
    return servers.map((server) => (server.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/** Where freePorts looks: from 10000 up to the start of the ephemeral range (Linux's /proc says where). */
export function listeningPortRange(ephemeralRange = readFileOr('/proc/sys/net/ipv4/ip_local_port_range')): {
  from: number;
  to: number;
} {
  const ephemeralStart = Number(ephemeralRange?.trim().split(/\s+/)[0]);
  const to = Number.isInteger(ephemeralStart) && ephemeralStart > 11_000 ? ephemeralStart - 1 : 32_767;
  return { from: 10_000, to };
}

function readFileOr(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Tries random ports of `range` until one binds; the OS's choice (bind to 0) after 50 taken ones. */
async function listenOnUnassignedPort(host: string, range: { from: number; to: number }): Promise<net.Server> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const port = range.from + Math.floor(Math.random() * (range.to - range.from + 1));
    const server = await listen(host, port).catch(() => undefined);
    if (server) return server;
  }
  return listen(host, 0);
}

function listen(host: string, port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => resolve(server));
  });
}
