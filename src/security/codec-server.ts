import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { Logger } from '../logger';

/**
 * Temporal's remote codec protocol over HTTP, for the Web UI ("Codec Server" setting or
 * `--ui-codec-endpoint`) and the CLI (`--codec-endpoint`): `POST /decode` and `POST /encode`
 * take and return `{"payloads": [{"metadata": {key: base64}, "data": base64}]}`. The same under
 * a namespace, `POST /{namespace}/decode` and `/{namespace}/encode`, which is what the Web UI
 * calls when its codec endpoint is set per namespace. With a token, each of them needs
 * `Authorization: Bearer <token>` (the CLI's `--codec-auth`); anything else gets a 401.
 */

export interface CodecServerOptions {
  codec: PayloadCodec;
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Browser origins allowed to call it (the Web UI's); requests from other origins are refused. */
  allowedOrigins: readonly string[];
  /** The bearer token encode and decode requests must carry; undefined: none is asked for. */
  token?: string | undefined;
  logger: Logger;
}

export interface CodecServer {
  /** e.g. http://127.0.0.1:8888 */
  url: string;
  close(): Promise<void>;
}

/** A history page can carry many payloads; Temporal caps a single one at 2 MiB by default. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

class BadRequest extends Error {}

/** `/decode`, `/encode`, and either under a namespace: `/{namespace}/decode`. */
const CODEC_PATH = /^(?:\/([^/]+))?\/(decode|encode)$/;

/** A path segment as written before URL encoding; as it came when it is not valid percent-encoding. */
function pathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** Whether an Authorization header carries the token, compared in constant time (of equal-length digests). */
function carriesToken(header: string | undefined, token: string): boolean {
  const match = /^bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return timingSafeEqual(digest(match?.[1] ?? ''), digest(token)) && match !== null;
}

function fromJson(value: unknown): Payload[] {
  const payloads = (value as { payloads?: unknown } | null)?.payloads;
  if (!Array.isArray(payloads)) throw new BadRequest('body must be {"payloads": [...]}');
  return payloads.map((item: JsonPayload) => {
    if (typeof item !== 'object' || item === null) throw new BadRequest('each payload must be an object');
    const metadata: Record<string, Uint8Array> = {};
    for (const [key, encoded] of Object.entries(item.metadata ?? {})) {
      if (typeof encoded !== 'string') throw new BadRequest(`metadata ${key} must be base64`);
      metadata[key] = Buffer.from(encoded, 'base64');
    }
    if (item.data !== undefined && typeof item.data !== 'string') throw new BadRequest('data must be base64');
    return { metadata, data: Buffer.from(item.data ?? '', 'base64') };
  });
}

function toJson(payloads: Payload[]): { payloads: JsonPayload[] } {
  return {
    payloads: payloads.map((payload) => ({
      metadata: Object.fromEntries(
        Object.entries(payload.metadata ?? {}).map(([key, value]) => [
          key,
          Buffer.from(value ?? []).toString('base64'),
        ]),
      ),
      data: Buffer.from(payload.data ?? []).toString('base64'),
    })),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startCodecServer(options: CodecServerOptions): Promise<CodecServer> {
  const { codec, logger } = options;
  const allowed = new Set(options.allowedOrigins);

  const corsHeaders = (req: IncomingMessage): Record<string, string> => {
    const origin = req.headers.origin;
    if (origin === undefined || !allowed.has(origin)) return {};
    return {
      'access-control-allow-origin': origin,
      'access-control-allow-methods': 'POST, OPTIONS',
      'access-control-allow-headers': 'content-type, x-namespace, authorization',
      // The UI may send credentials (its "include cross-origin credentials" option).
      'access-control-allow-credentials': 'true',
      'access-control-max-age': '600',
      // Chrome asks before a public page (e.g. Temporal Cloud's UI) calls a local server.
      ...(req.headers['access-control-request-private-network'] === 'true'
        ? { 'access-control-allow-private-network': 'true' }
        : {}),
      vary: 'Origin',
    };
  };

  const send = (req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      ...corsHeaders(req),
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
    const origin = req.headers.origin;
    // Anyone who can reach this server can decrypt: a browser page from elsewhere must not.
    if (origin !== undefined && !allowed.has(origin)) {
      req.resume();
      logger.warn({ origin, path }, 'codec request refused: origin not allowed');
      return send(req, res, 403, { error: 'Origin not allowed' });
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, corsHeaders(req));
      res.end();
      return;
    }
    if (path === '/health' && req.method === 'GET') return send(req, res, 200, { status: 'ok' });
    const codecPath = CODEC_PATH.exec(path);
    if (codecPath === null) {
      req.resume();
      return send(req, res, 404, { error: 'Not found' });
    }
    const operation = codecPath[2] as 'decode' | 'encode';
    const namespace = codecPath[1] === undefined ? req.headers['x-namespace'] : pathSegment(codecPath[1]);
    if (options.token !== undefined && !carriesToken(req.headers.authorization, options.token)) {
      req.resume();
      logger.warn({ path, namespace }, 'codec request refused: no valid bearer token');
      res.setHeader('www-authenticate', 'Bearer');
      return send(req, res, 401, { error: 'Unauthorized' });
    }
    if (req.method !== 'POST') {
      req.resume();
      return send(req, res, 405, { error: 'Method not allowed' });
    }
    const body = await readBody(req);
    if (body === null) return send(req, res, 413, { error: `Body larger than ${MAX_BODY_BYTES} bytes` });
    let payloads: Payload[];
    try {
      payloads = fromJson(JSON.parse(body.toString('utf8')));
    } catch (error) {
      return send(req, res, 400, { error: error instanceof BadRequest ? error.message : 'body is not valid JSON' });
    }
    let result: Payload[];
    try {
      result = operation === 'decode' ? await codec.decode(payloads) : await codec.encode(payloads);
    } catch (error) {
      // The codec's messages name key ids and ciphers, never key material or payload contents.
      logger.warn({ path, reason: (error as Error).message }, 'codec request failed');
      return send(req, res, 400, { error: (error as Error).message });
    }
    logger.debug({ path, payloads: payloads.length, namespace }, 'codec request');
    send(req, res, 200, toJson(result));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error({ err: error }, 'codec request crashed');
      if (!res.headersSent) send(req, res, 500, { error: 'Internal server error' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
