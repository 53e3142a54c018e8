import { randomUUID } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import pino from 'pino';
import { sql } from 'slonik';
import { z } from 'zod';
import { ConfigError, parseConfig } from '../src/config';
import { createDatabasePool, type DatabasePool } from '../src/db/pool';
import { connectNats } from '../src/nats/connection';
import { encodeJson, requestPeer, serveRequests, type RequestServer } from '../src/nats/nest-transport';
import { PAYMENT_STREAM } from '../src/nats/payment-stream';
import { PAYMENT_SUCCEEDED_SUBJECT } from '../src/nats/subjects';
import { natsRefusedReplies } from '../src/observability/metrics';
import { startProductsService, type ProductsService } from '../src/products/service';
import { connectNestClient } from './support/nest-client';
import { startPrivateNats, type PrivateNats } from './support/private-nats';

/**
 * A responder publishes its answer with its own permissions on the reply subject the requester
 * names, so it must answer only on client inboxes: never on `$JS.API.STREAM.PURGE.PAYMENTS` and
 * the like (a confused deputy). Against a private NATS with JetStream, since the attack is real.
 */

/**
 * Reply subjects that are no client's inbox, each with an effect were a responder to publish there:
 * a forged payment event (captured by the PAYMENTS stream), a server request, a KV or object store
 * write. A JetStream API reply (`$JS.API.STREAM.PURGE.…`) the server drops itself (below).
 */
const REFUSED_REPLIES = [PAYMENT_SUCCEEDED_SUBJECT, `$SYS.REQ.SERVER.PING`, '$KV.orders.key', '$O.store.chunk'];

let server: PrivateNats;
/** The responders' connection. */
let responder: NatsConnection;
/** The requesters' and observers' connection. */
let client: NatsConnection;
let jsm: JetStreamManager;
const servers: RequestServer[] = [];
const warnings: { subject?: string; reply?: string; msg: string }[] = [];
const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line)) });

beforeAll(async () => {
  server = await startPrivateNats();
  const nats = { ...parseConfig(process.env).nats, url: server.url };
  [responder, client] = await Promise.all([connectNats(nats, 'reply-test-responder'), connectNats(nats, 'reply-test')]);
  jsm = await jetstreamManager(client);
  // A stream as it was before deny_purge: only the reply check stands between it and a purge.
  await jsm.streams.add({ name: PAYMENT_STREAM, subjects: [PAYMENT_SUCCEEDED_SUBJECT], storage: StorageType.File });
  const js = jetstream(client);
  for (const n of [1, 2]) await js.publish(PAYMENT_SUCCEEDED_SUBJECT, encodeJson({ n }));
});

afterAll(async () => {
  await Promise.all(servers.map((running) => running.drain()));
  await Promise.all([responder?.close(), client?.close()]);
  await server?.stop();
});

/** An echo responder on a subject of its own; `calls` holds each payload it handled. */
/** An echo responder on a subject of its own, subscribed at the server before it resolves. */
async function startEcho(inboxPrefixes: readonly string[]): Promise<{ subject: string; calls: unknown[] }> {
  const subject = `reply.test.${randomUUID()}`;
  const calls: unknown[] = [];
  const echo = async (payload: unknown): Promise<unknown> => {
    calls.push(payload);
    return payload;
  };
  servers.push(serveRequests(responder, { [subject]: echo }, 'reply-test', logger, inboxPrefixes));
  // A request from another connection could otherwise reach the server before this subscription.
  await responder.flush();
  return { subject, calls };
}

/**
 * The subjects matching `patterns` the responder's connection published on while `action` ran:
 * a marker it publishes afterwards reaches the observer after anything it published before.
 */
async function publishedBy(patterns: string[], action: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const marker = `reply.test.marker.${randomUUID()}`;
  let markerSeen: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (markerSeen = resolve));
  const subscriptions = [...patterns, marker].map((pattern) =>
    client.subscribe(pattern, {
      callback: (_error, msg) => {
        if (msg.subject === marker) markerSeen();
        else seen.push(msg.subject);
      },
    }),
  );
  await client.flush();
  await action();
  responder.publish(marker);
  await done;
  for (const subscription of subscriptions) subscription.unsubscribe();
  return seen;
}

const refusedCount = async (subject: string): Promise<number> =>
  (await natsRefusedReplies.get()).values.find((value) => value.labels.subject === subject)?.value ?? 0;

/** Sends a NestJS request whose reply subject is `reply`, as an attacker would. */
function requestWithReply(subject: string, reply: string, data: unknown): void {
  client.publish(subject, encodeJson({ pattern: subject, data, id: randomUUID() }), { reply });
}

describe('a responder answers only on client inboxes', () => {
  it.each(REFUSED_REPLIES)('does not handle a request whose reply subject is %s, nor publish there', async (reply) => {
    const { subject, calls } = await startEcho(['_INBOX.']);
    const published = await publishedBy(
      [PAYMENT_SUCCEEDED_SUBJECT, '$JS.API.>', '$SYS.>', '$KV.>', '$O.>'],
      async () => {
        requestWithReply(subject, reply, { attack: true });
        // A request on the client's inbox, sent afterwards, is still answered.
        await expect(requestPeer(client, subject, { ok: true }, 5_000)).resolves.toEqual({ ok: true });
      },
    );
    expect(published).toEqual([]);
    expect(calls).toEqual([{ ok: true }]);
    expect(warnings).toContainEqual(expect.objectContaining({ subject, reply, msg: expect.stringMatching(/refused/) }));
    expect(await refusedCount(subject)).toBe(1);
    expect((await jsm.streams.info(PAYMENT_STREAM)).state.messages).toBe(2);
  });

  it('refuses the reserved prefixes even when the configured prefixes would cover them', async () => {
    // Configuration refuses such a prefix (below); the responder does not rely on it.
    const { subject, calls } = await startEcho(['$', '_INBOX.']);
    const published = await publishedBy(['$KV.>'], async () => {
      requestWithReply(subject, '$KV.orders.key', {});
      await requestPeer(client, subject, { ok: true }, 5_000);
    });
    expect(published).toEqual([]);
    expect(calls).toEqual([{ ok: true }]);
    expect(await refusedCount(subject)).toBe(1);
  });

  it('is not even reached by a request whose reply subject is a JetStream API: nats-server drops it', async () => {
    const subject = `reply.test.${randomUUID()}`;
    const delivered: Array<string | undefined> = [];
    const subscription = responder.subscribe(subject, {
      callback: (_error, msg) => {
        delivered.push(msg.reply);
      },
    });
    await responder.flush();
    requestWithReply(subject, `$JS.API.STREAM.PURGE.${PAYMENT_STREAM}`, {});
    requestWithReply(subject, `_INBOX.${randomUUID()}`, {});
    await client.flush();
    await responder.flush();
    subscription.unsubscribe();
    expect(delivered).toEqual([expect.stringMatching(/^_INBOX\./)]);
    expect((await jsm.streams.info(PAYMENT_STREAM)).state.messages).toBe(2);
  });

  it('answers on a custom inbox prefix only when NATS_INBOX_PREFIXES names it', async () => {
    const shop = await connect({ servers: server.url, inboxPrefix: 'shop.replies' });
    try {
      const refused = await startEcho(parseConfig({}).nats.inboxPrefixes);
      const published = await publishedBy(['shop.replies.>'], async () => {
        requestWithReply(refused.subject, 'shop.replies.one', { n: 1 });
        await requestPeer(client, refused.subject, { n: 2 }, 5_000);
      });
      expect(published).toEqual([]);
      expect(refused.calls).toEqual([{ n: 2 }]);

      const allowed = await startEcho(
        parseConfig({ NATS_INBOX_PREFIXES: '_INBOX., shop.replies.' }).nats.inboxPrefixes,
      );
      await expect(requestPeer(shop, allowed.subject, { n: 3 }, 5_000)).resolves.toEqual({ n: 3 });
      await expect(requestPeer(client, allowed.subject, { n: 4 }, 5_000)).resolves.toEqual({ n: 4 });
    } finally {
      await shop.close();
    }
  });
});

describe('the products service, as configured', () => {
  let pool: DatabasePool;
  let products: ProductsService;

  beforeAll(async () => {
    const config = parseConfig({ ...process.env, NATS_URL: server.url });
    pool = await createDatabasePool(config.databaseUrl);
    products = await startProductsService({ nats: responder, pool, logger, config });
  });

  afterAll(async () => {
    await products?.stop();
    await pool?.end();
  });

  it('creates nothing for a request whose reply subject is no client inbox, and answers a NestJS client', async () => {
    const name = `Reply test ${randomUUID()}`;
    const published = await publishedBy([PAYMENT_SUCCEEDED_SUBJECT], async () => {
      requestWithReply('products.create', PAYMENT_SUCCEEDED_SUBJECT, { name, price: 1 });
      await requestPeer(client, 'products.find.all', { page: 1, limit: 1 }, 5_000);
    });
    expect(published).toEqual([]);
    const stored = await pool.oneFirst(
      sql.type(z.object({ count: z.number() }))`SELECT count(*)::int AS count FROM products WHERE name = ${name}`,
    );
    expect(stored).toBe(0);
    expect((await jsm.streams.info(PAYMENT_STREAM)).state.messages).toBe(2);

    // NestJS's ClientProxy receives its replies on _INBOX.: the default prefix.
    const nest = await connectNestClient(server.url);
    try {
      await expect(nest.send('products.create', { name, price: 2 })).resolves.toMatchObject({ name, price: 2 });
    } finally {
      await nest.close();
    }
  });
});

describe('NATS_INBOX_PREFIXES', () => {
  it('is _INBOX. by default (or empty), or the listed prefixes', () => {
    expect(parseConfig({}).nats.inboxPrefixes).toEqual(['_INBOX.']);
    expect(parseConfig({ NATS_INBOX_PREFIXES: '' }).nats.inboxPrefixes).toEqual(['_INBOX.']);
    expect(parseConfig({ NATS_INBOX_PREFIXES: '_INBOX.,shop.replies.' }).nats.inboxPrefixes).toEqual([
      '_INBOX.',
      'shop.replies.',
    ]);
  });

  it.each(['$JS.API.', '$SYS.', '$KV.orders.', '$O.', '$', '$J', 'a.*.', 'a.>'])(
    'refuses %s, naming the variable',
    (prefix) => {
      expect(() => parseConfig({ NATS_INBOX_PREFIXES: `_INBOX.,${prefix}` })).toThrow(ConfigError);
      expect(() => parseConfig({ NATS_INBOX_PREFIXES: `_INBOX.,${prefix}` })).toThrow(
        new RegExp(`NATS_INBOX_PREFIXES: "${prefix.replace(/[$.*]/g, '\\$&')}"`),
      );
    },
  );
});
