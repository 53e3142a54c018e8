import { send, sendJson as json, serveHttp, type HttpServer } from '../http/serve';
import type { Logger } from '../logger';
import { registry } from './metrics';
import { runChecks, type ReadinessChecks } from './readiness';

/**
 * Every process's operations endpoint, on a port of its own:
 *   GET /metrics  Prometheus text format (observability/metrics.ts)
 *   GET /healthz  200 while the process runs
 *   GET /readyz   200 when every dependency answers, else 503 naming those that do not
 */

export type ObservabilityServer = HttpServer;

export interface ObservabilityOptions {
  /** From config.metrics; undefined serves nothing (the endpoints are disabled), 0 picks a free port. */
  port: number | undefined;
  logger: Logger;
  checks: ReadinessChecks;
}

export async function startObservabilityServer({
  port,
  logger,
  checks,
}: ObservabilityOptions): Promise<ObservabilityServer | undefined> {
  if (port === undefined) return undefined;
  const server = await serveHttp(
    async (req, res) => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return json(res, 405, { error: 'Method not allowed' }, { allow: 'GET, HEAD' });
      if (path === '/metrics') return send(res, 200, registry.contentType, await registry.metrics());
      if (path === '/healthz') return json(res, 200, { status: 'ok' });
      if (path === '/readyz') {
        const results = await runChecks(checks);
        const down = Object.keys(results).filter((name) => results[name] !== 'up');
        if (down.length > 0) logger.warn({ checks: results }, 'not ready');
        return json(res, down.length === 0 ? 200 : 503, {
          status: down.length === 0 ? 'ready' : 'unavailable',
          down,
          checks: results,
        });
      }
      json(res, 404, { error: 'Not found' });
    },
    // Scrapes and probes are short: nothing worth waiting for on close.
    { port, logger, closeGraceMs: 0 },
  );
  logger.info({ port: server.port }, 'metrics and health endpoints listening');
  return server;
}
