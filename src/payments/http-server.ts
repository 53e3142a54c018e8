import type { IncomingMessage, ServerResponse } from 'node:http';
import { send, sendJson, serveHttp, type HttpServer } from '../http/serve';
import type { Logger } from '../logger';
import { MAX_REQUEST_BYTES } from '../nats/nest-transport';
import type { WebhookHandler } from './webhook';

/** The payments service's HTTP side: Stripe's webhook, the checkout return pages and a health check. */

export interface PaymentsHttpDeps {
  webhook: WebhookHandler;
  logger: Logger;
  /** False turns /health into a 503 (e.g. while NATS is closed). */
  isHealthy?: () => boolean;
}

export type PaymentsHttpServer = HttpServer;

/** After this, connections still open on close are cut. */
const CLOSE_GRACE_MS = 10_000;

const page = (title: string, text: string): string =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>` +
  `<body><h1>${title}</h1><p>${text}</p></body></html>\n`;

const PAGES: Record<string, string> = {
  '/payments/success': page('Payment received', 'Thank you, your order is paid. You can close this page.'),
  '/payments/cancel': page('Payment cancelled', 'Your payment was cancelled; your order has not been charged.'),
};

const sendHtml = (res: ServerResponse, html: string): void => send(res, 200, 'text/html; charset=utf-8', html);

/** The raw body (signatures are computed over the exact bytes), or null when it exceeds `limit`. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > limit) {
      req.resume();
      resolve(null);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        // Stop keeping it, but read the rest so the client gets to see the answer.
        req.off('data', onData);
        req.resume();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startPaymentsHttpServer(deps: PaymentsHttpDeps, port: number): Promise<PaymentsHttpServer> {
  const { logger } = deps;

  const handleWebhook = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req, MAX_REQUEST_BYTES);
    if (body === null) {
      logger.warn({ limit: MAX_REQUEST_BYTES }, 'webhook refused: body too large');
      sendJson(res, 413, { error: `Body larger than ${MAX_REQUEST_BYTES} bytes` }, { connection: 'close' });
      return;
    }
    const signature = req.headers['stripe-signature'];
    const answer = await deps.webhook(body, Array.isArray(signature) ? signature[0] : signature);
    sendJson(res, answer.status, answer.body);
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const method = req.method ?? 'GET';
    if (path === '/payments/webhook') {
      if (method !== 'POST') return sendJson(res, 405, { error: 'Method not allowed' }, { allow: 'POST' });
      return handleWebhook(req, res);
    }
    const html = PAGES[path];
    if (html !== undefined || path === '/health') {
      if (method !== 'GET' && method !== 'HEAD') {
        return sendJson(res, 405, { error: 'Method not allowed' }, { allow: 'GET, HEAD' });
      }
      if (html !== undefined) return sendHtml(res, html);
      const healthy = deps.isHealthy?.() ?? true;
      return sendJson(res, healthy ? 200 : 503, { status: healthy ? 'ok' : 'unavailable' });
    }
    sendJson(res, 404, { error: 'Not found' });
  };

  return serveHttp(route, { port, logger, closeGraceMs: CLOSE_GRACE_MS });
}
