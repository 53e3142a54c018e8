import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger';
import { registry } from './metrics';
import { runChecks, type ReadinessChecks } from './readiness';

/**
 * Every process's operations endpoint, on a port of its own:
 *   GET /metrics  Prometheus text format (observability/metrics.ts)
 *   GET /healthz  200 while the process runs
 *   GET /readyz   200 when every dependency answers, else 503 naming those that do not
 */

export interface ObservabilityServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface ObservabilityOptions {
  /** From config.metrics; undefined serves nothing (the endpoints are disabled), 0 picks a free port. */
  port: number | undefined;
  logger: Logger;
  checks: ReadinessChecks;
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const json = (res: ServerResponse, status: number, body: unknown): void =>
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));

export async function startObservabilityServer({ port, logger, checks }: ObservabilityOptions): Promise<ObservabilityServer | undefined> {
  if (port === undefined) return undefined;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      json(res, 405, { error: 'Method not allowed' });
      return;
    }
    const answer = async (): Promise<void> => {
      if (path === '/metrics') return send(res, 200, registry.contentType, await registry.metrics());
      if (path === '/healthz') return json(res, 200, { status: 'ok' });
      if (path === '/readyz') {
        const results = await runChecks(checks);
        const down = Object.keys(results).filter((name) => results[name] !== 'up');
        if (down.length > 0) logger.warn({ checks: results }, 'not ready');
        return json(res, down.length === 0 ? 200 : 503, { status: down.length === 0 ? 'ready' : 'unavailable', down, checks: results });
      }
      json(res, 404, { error: 'Not found' });
    };
    answer().catch((error: unknown) => {
      logger.error({ err: error, path }, 'observability request failed');
      if (!res.headersSent) json(res, 500, { error: 'Internal server error' });
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
  logger.info({ port: bound }, 'metrics and health endpoints listening');
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
