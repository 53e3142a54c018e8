import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { parseConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { getOrderQuery, orderWorkflowId } from '../src/orders/workflow-api';
import type { OrderWithItems } from '../src/orders/types';
import { startCodecServer, type CodecServer } from '../src/security/codec-server';
import { ENCRYPTED_ENCODING, EncryptionCodec, KEY_ID_METADATA_KEY } from '../src/security/payload-codec';
import { securedProductionEnv } from './support/production-env';
import { runScript } from './support/run-command';
import { startTestSystem, type TestSystem } from './support/system';

const key = (): string => randomBytes(32).toString('base64');
const codecFor = (env: Record<string, string>): EncryptionCodec => {
  const encryption = parseConfig(env).temporal.encryption;
  if (encryption === undefined) throw new Error('no encryption configured');
  return new EncryptionCodec(encryption);
};
const text = (bytes: Uint8Array | null | undefined): string => Buffer.from(bytes ?? []).toString('utf8');
const toPayload = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);

describe('AES-256-GCM payload codec', () => {
  const current = key();
  const codec = codecFor({ TEMPORAL_ENCRYPTION_KEY: current, TEMPORAL_ENCRYPTION_KEY_ID: 'k1' });

  it('encrypts the whole payload, names its key, and decrypts it back', async () => {
    const original = toPayload({ orderId: 'o-1', items: [{ name: 'Lamp' }] });
    const [encrypted] = (await codec.encode([original])) as [Payload];
    expect(text(encrypted.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(encrypted.metadata?.[KEY_ID_METADATA_KEY])).toBe('k1');
    expect(text(encrypted.data)).not.toContain('Lamp');
    expect(text(encrypted.data)).not.toContain('json/plain');
    const [decoded] = (await codec.decode([encrypted])) as [Payload];
    expect(defaultPayloadConverter.fromPayload(decoded)).toEqual({ orderId: 'o-1', items: [{ name: 'Lamp' }] });
    expect(text(decoded.metadata?.encoding)).toBe('json/plain');
  });

  it('uses a fresh nonce each time, so equal values do not look equal', async () => {
    const [first, second] = (await codec.encode([toPayload('same'), toPayload('same')])) as [Payload, Payload];
    expect(Buffer.from(first.data ?? []).equals(Buffer.from(second.data ?? []))).toBe(false);
  });

  it('after a key rotation, still decrypts payloads of the earlier key and encrypts with the new one', async () => {
    const [old] = (await codec.encode([toPayload(42)])) as [Payload];
    const rotated = codecFor({
      TEMPORAL_ENCRYPTION_KEY: key(),
      TEMPORAL_ENCRYPTION_KEY_ID: 'k2',
      TEMPORAL_ENCRYPTION_PREVIOUS_KEYS: `k1:${current}`,
    });
    expect(defaultPayloadConverter.fromPayload((await rotated.decode([old]))[0] as Payload)).toBe(42);
    const [fresh] = (await rotated.encode([toPayload(43)])) as [Payload];
    expect(text(fresh.metadata?.[KEY_ID_METADATA_KEY])).toBe('k2');
  });

  it('refuses a tampered payload, an unknown key id and the wrong key', async () => {
    const [encrypted] = (await codec.encode([toPayload({ total: 10 })])) as [Payload];
    const tampered = Buffer.from(encrypted.data ?? []);
    tampered[20] = (tampered[20] ?? 0) ^ 1;
    await expect(codec.decode([{ ...encrypted, data: tampered }])).rejects.toThrow();
    const unknownId = { ...encrypted, metadata: { ...encrypted.metadata, [KEY_ID_METADATA_KEY]: Buffer.from('k9') } };
    await expect(codec.decode([unknownId])).rejects.toThrow('Payload encrypted with key k9, which is not configured');
    const wrongKey = codecFor({ TEMPORAL_ENCRYPTION_KEY: key(), TEMPORAL_ENCRYPTION_KEY_ID: 'k1' });
    await expect(wrongKey.decode([encrypted])).rejects.toThrow();
  });

  it('passes plain payloads through, so histories from before encryption stay readable', async () => {
    const plain = toPayload({ status: 'PAID' });
    await expect(codec.decode([plain])).resolves.toEqual([plain]);
  });
});

/** The JSON form of payloads in Temporal's codec server protocol. */
const asJson = (payloads: Payload[]) => ({
  payloads: payloads.map((payload) => ({
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([name, value]) => [
        name,
        Buffer.from(value ?? []).toString('base64'),
      ]),
    ),
    data: Buffer.from(payload.data ?? []).toString('base64'),
  })),
});
const fromJson = (body: { payloads: { metadata: Record<string, string>; data: string }[] }): Payload[] =>
  body.payloads.map((payload) => ({
    metadata: Object.fromEntries(
      Object.entries(payload.metadata).map(([name, value]) => [name, Buffer.from(value, 'base64')]),
    ),
    data: Buffer.from(payload.data, 'base64'),
  }));

describe('codec server for the Temporal Web UI and CLI', () => {
  const UI = 'http://localhost:8233';
  const codec = codecFor({ TEMPORAL_ENCRYPTION_KEY: key() });
  let server: CodecServer;

  beforeAll(async () => {
    server = await startCodecServer({
      codec,
      host: '127.0.0.1',
      port: 0,
      allowedOrigins: [UI],
      logger: createLogger('codec-test', 'silent'),
    });
  });

  afterAll(async () => {
    await server?.close();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('encodes and decodes in the protocol’s JSON form', async () => {
    const encoded = await post('/encode', asJson([toPayload({ hello: 'world' })]));
    expect(encoded.status).toBe(200);
    const encrypted = fromJson((await encoded.json()) as never);
    expect(text(encrypted[0]?.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
    const decoded = await post('/decode', asJson(encrypted), { origin: UI });
    expect(decoded.status).toBe(200);
    expect(decoded.headers.get('access-control-allow-origin')).toBe(UI);
    expect(defaultPayloadConverter.fromPayload(fromJson((await decoded.json()) as never)[0] as Payload)).toEqual({
      hello: 'world',
    });
  });

  it('answers the Web UI’s CORS preflight', async () => {
    const preflight = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: {
        origin: UI,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-namespace',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(UI);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('x-namespace');
  });

  it('refuses pages from other origins, and bodies that are not payloads', async () => {
    const foreign = await post('/decode', asJson([]), { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    expect((await post('/decode', 'not json')).status).toBe(400);
    expect((await post('/decode', { nope: true })).status).toBe(400);
    expect((await fetch(`${server.url}/decode`)).status).toBe(405);
  });
});

describe('codec server paths per namespace, and its bearer token', () => {
  const UI = 'http://localhost:8233';
  const TOKEN = randomBytes(32).toString('base64');
  const codec = codecFor({ TEMPORAL_ENCRYPTION_KEY: key() });
  let open: CodecServer;
  let guarded: CodecServer;

  beforeAll(async () => {
    const options = { codec, host: '127.0.0.1', port: 0, allowedOrigins: [UI] };
    open = await startCodecServer({ ...options, logger: createLogger('codec-test', 'silent') });
    guarded = await startCodecServer({ ...options, token: TOKEN, logger: createLogger('codec-test', 'silent') });
  });

  afterAll(async () => {
    await open?.close();
    await guarded?.close();
  });

  const post = (server: CodecServer, path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('serves /{namespace}/encode and /{namespace}/decode, as the Web UI calls them per namespace', async () => {
    const encoded = await post(open, '/orders.a1b2c/encode', asJson([toPayload({ hello: 'namespace' })]));
    expect(encoded.status).toBe(200);
    const decoded = await post(open, '/orders.a1b2c/decode', await encoded.json(), { origin: UI });
    expect(decoded.status).toBe(200);
    expect(decoded.headers.get('access-control-allow-origin')).toBe(UI);
    expect(defaultPayloadConverter.fromPayload(fromJson((await decoded.json()) as never)[0] as Payload)).toEqual({
      hello: 'namespace',
    });
    expect((await post(open, '/orders/decode/more', asJson([]))).status).toBe(404);
    expect((await post(open, '/orders/other', asJson([]))).status).toBe(404);
  });

  it('with a token, answers encode and decode only to a request that carries it', async () => {
    const body = asJson([toPayload('secret order')]);
    for (const path of ['/encode', '/decode', '/default/decode']) {
      const refused = await post(guarded, path, body, { origin: UI });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toBe('Bearer');
      // The browser can read the refusal: the UI shows why.
      expect(refused.headers.get('access-control-allow-origin')).toBe(UI);
    }
    for (const authorization of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, TOKEN, `Basic ${TOKEN}`, 'Bearer']) {
      expect((await post(guarded, '/decode', body, { authorization })).status).toBe(401);
    }
    const encoded = await post(guarded, '/encode', body, { authorization: `Bearer ${TOKEN}` });
    expect(encoded.status).toBe(200);
    const decoded = await post(guarded, '/default/decode', await encoded.json(), {
      authorization: `bearer ${TOKEN}`,
    });
    expect(decoded.status).toBe(200);
    expect(defaultPayloadConverter.fromPayload(fromJson((await decoded.json()) as never)[0] as Payload)).toBe(
      'secret order',
    );
  });

  it('with a token, still answers the preflight (browsers send no credentials there) and the health check', async () => {
    const preflight = await fetch(`${guarded.url}/default/decode`, {
      method: 'OPTIONS',
      headers: {
        origin: UI,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
    expect((await fetch(`${guarded.url}/health`)).status).toBe(200);
  });

  it('is refused in production without a token (TEMPORAL_CODEC_SERVER_TOKEN), and with one too short', async () => {
    const env = {
      ...securedProductionEnv(),
      TEMPORAL_ENCRYPTION_KEY: key(),
      // An address it cannot listen on: were it not refused, it would stop there rather than run on.
      TEMPORAL_CODEC_SERVER_HOST: '203.0.113.1',
    };
    const { code, stderr } = await runScript('src/scripts/codec-server.ts', { env });
    expect(code).toBe(1);
    expect(stderr).toContain('TEMPORAL_CODEC_SERVER_TOKEN: required when TEMPORAL_CODEC_SERVER_HOST (203.0.113.1)');
    // On loopback too, in production.
    expect(() => parseConfig({ ...env, TEMPORAL_CODEC_SERVER_HOST: '127.0.0.1' }, 'codec-server')).toThrow(
      'TEMPORAL_CODEC_SERVER_TOKEN: must be set in production',
    );
    expect(() => parseConfig({ TEMPORAL_CODEC_SERVER_TOKEN: 'short' })).toThrow(
      /TEMPORAL_CODEC_SERVER_TOKEN: must be at least 32/,
    );
    expect(parseConfig({ TEMPORAL_CODEC_SERVER_TOKEN: TOKEN }).codecServer.token).toBe(TOKEN);
  });

  it('is refused without a token on any address but loopback, in production or not', () => {
    for (const host of ['0.0.0.0', '10.1.2.3', 'codec.internal', '::']) {
      expect(() => parseConfig({ TEMPORAL_CODEC_SERVER_HOST: host })).toThrow(
        `TEMPORAL_CODEC_SERVER_TOKEN: required when TEMPORAL_CODEC_SERVER_HOST (${host}) is not a loopback address`,
      );
      expect(
        parseConfig({ TEMPORAL_CODEC_SERVER_HOST: host, TEMPORAL_CODEC_SERVER_TOKEN: TOKEN }).codecServer.host,
      ).toBe(host);
    }
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '::1']) {
      expect(parseConfig({ TEMPORAL_CODEC_SERVER_HOST: host }).codecServer.token).toBeUndefined();
    }
  });
});

/** Every payload in a raw history, except search attributes (which Temporal must read to index). */
/**
 * Every payload in a raw history, search attributes aside. Of a marker's details only the result is
 * user data: the SDK's own bookkeeping (a local activity's type and attempt, a patch's id) stays
 * readable, and the byte check below shows it carries no order data.
 */
function payloadsIn(value: unknown, found: Payload[] = []): Payload[] {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return found;
  const record = value as Record<string, unknown>;
  if (record.data instanceof Uint8Array && typeof record.metadata === 'object' && record.metadata !== null) {
    found.push(record as Payload);
    return found;
  }
  for (const [name, child] of Object.entries(record)) {
    if (name === 'searchAttributes') continue;
    if (name === 'markerRecordedEventAttributes') {
      const { details } = child as { details?: Record<string, unknown> };
      payloadsIn(details?.result, found);
      continue;
    }
    payloadsIn(child, found);
  }
  return found;
}

/** Every byte string in a raw history, search attributes included, as text. */
function bytesIn(value: unknown, found: string[] = []): string[] {
  if (value instanceof Uint8Array) found.push(text(value));
  else if (value !== null && typeof value === 'object') for (const child of Object.values(value)) bytesIn(child, found);
  return found;
}

describe('an order with payload encryption turned on', () => {
  let system: TestSystem;
  let codecServer: CodecServer;
  const productName = `Encrypted Lamp ${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    system = await startTestSystem({ TEMPORAL_ENCRYPTION_KEY: key(), TEMPORAL_ENCRYPTION_KEY_ID: 'test-key' });
    const encryption = system.config.temporal.encryption;
    if (encryption === undefined) throw new Error('encryption is not on');
    codecServer = await startCodecServer({
      codec: new EncryptionCodec(encryption),
      host: '127.0.0.1',
      port: 0,
      allowedOrigins: system.config.codecServer.allowedOrigins,
      logger: createLogger('codec-test', 'silent'),
    });
  });

  afterAll(async () => {
    await codecServer?.close();
    await system?.stop();
  });

  it('keeps only ciphertext in Temporal; the codec endpoint decodes it back to the order', async () => {
    const product = await system.nest.send<{ id: number }>('products.create', { name: productName, price: 12.5 });
    const { order } = await system.nest.send<{ order: OrderWithItems }>('orders.create', {
      items: [{ productId: product.id, quantity: 2 }],
    });
    const workflowId = orderWorkflowId(order.id);
    // The service itself reads it as usual: the worker and its clients share the codec.
    await expect(system.temporal.workflow.getHandle(workflowId).query(getOrderQuery)).resolves.toMatchObject({
      id: order.id,
      OrderItems: [{ name: productName, quantity: 2 }],
    });

    const { history } = await system.temporal.workflowService.getWorkflowExecutionHistory({
      namespace: system.config.temporal.namespace,
      execution: { workflowId },
    });
    const payloads = payloadsIn(history);
    expect(payloads.length).toBeGreaterThan(3);
    for (const payload of payloads) {
      expect(text(payload.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
      expect(text(payload.metadata?.[KEY_ID_METADATA_KEY])).toBe('test-key');
    }
    // Not a byte of order data in the clear, anywhere in the history.
    for (const bytes of bytesIn(history)) {
      expect(bytes).not.toContain(productName);
      expect(bytes).not.toContain(order.id);
    }

    // A client without the key gets ciphertext it cannot read.
    const withoutKey = new Client({
      connection: system.temporal.connection,
      namespace: system.config.temporal.namespace,
    });
    await expect(withoutKey.workflow.getHandle(workflowId).query(getOrderQuery)).rejects.toThrow(/binary\/encrypted/);

    // What the Web UI does: it posts the history's payloads to the codec endpoint.
    const response = await fetch(`${codecServer.url}/decode`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-namespace': system.config.temporal.namespace,
        origin: 'http://localhost:8233',
      },
      body: JSON.stringify(asJson(payloads)),
    });
    expect(response.status).toBe(200);
    const decoded = fromJson((await response.json()) as never).map((payload) =>
      defaultPayloadConverter.fromPayload(payload),
    );
    const orders = decoded.flatMap((value) => {
      const candidate = (value as { order?: unknown } | null)?.order ?? value;
      return (candidate as { id?: unknown } | null)?.id === order.id ? [candidate] : [];
    });
    expect(orders).toContainEqual(
      expect.objectContaining({
        id: order.id,
        status: 'PENDING',
        OrderItems: [expect.objectContaining({ name: productName, quantity: 2 })],
      }),
    );

    // Updates go through the codec too: cancelling works as without encryption.
    await expect(
      system.nest.send('orders.change.status', { id: order.id, status: 'CANCELLED' }),
    ).resolves.toMatchObject({
      status: 'CANCELLED',
    });
  });
});
