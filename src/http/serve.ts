import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger';

/** The small HTTP servers of the processes: the payments webhook and every operations endpoint. */

export interface HttpServer {
  /** Base URL it listens on, e.g. http://127.0.0.1:3003. */
  url: string;
  port: number;
  /** Stops accepting connections; resolves once requests in flight are answered (or cut, see graceMs). */
  close(): Promise<void>;
}

export interface ServeOptions {
  /** 0 picks a free port. */
  port: number;
  logger: Logger;
  /** How long requests in flight may take to finish on close before their connections are cut; 0 cuts at once. */
  closeGraceMs: number;
}

export function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body), headers);
}

/**
 * Serves `handle` until closed. A handler that throws is a bug: it is logged and answered with a
 * 500, or its connection is cut when the answer had already begun.
 */
export async function serveHttp(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  { port, logger, closeGraceMs }: ServeOptions,
): Promise<HttpServer> {
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error({ err: error, path: req.url }, 'http request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'Internal server error' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve, reject) => {
        const cut = setTimeout(() => server.closeAllConnections(), closeGraceMs);
        cut.unref();
        server.close((error) => {
          clearTimeout(cut);
          if (error) reject(error);
          else resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
