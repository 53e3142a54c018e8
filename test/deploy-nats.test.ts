import { randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { parseConfig, type Config, type PaymentStreamSettings } from '../src/config';
import { createLogger } from '../src/logger';
import { connectNats } from '../src/nats/connection';
import { ensureDurableConsumer } from '../src/nats/durable-consumer';
import { encodeEvent, encodeJson, requestPeer, serveRequests } from '../src/nats/nest-transport';
import { ensurePaymentStream, PAYMENT_STREAM } from '../src/nats/payment-stream';
import { PAYMENT_STREAM_CONSUMERS, setUpPaymentStream } from '../src/nats/stream-setup';
import { PAYMENT_SUCCEEDED_SUBJECT, REFUND_REQUESTED_SUBJECT } from '../src/nats/subjects';
import { REPO_ROOT } from './support/run-command';
import { natsRefusal, permissionViolation, startConfiguredNats, type ConfiguredNats } from './security-helpers';

// deploy/nats/nats-server.conf, the NATS of docker-compose.yml: no connection without a password,
// and each process's user can do what that process does and nothing it must not.

const USERS = {
  ORDERS_WORKER: 'orders-worker',
  ORDERS_GATEWAY: 'orders-gateway',
  PRODUCTS_SERVICE: 'products-service',
  PAYMENTS_SERVICE: 'payments-service',
  ORDERS_ADMIN: 'orders-admin',
} as const;
type User = keyof typeof USERS;

const passwords = {} as Record<User, string>;
/** nats-server's environment as docker-compose.yml hands it over: each password in double quotes. */
const serverEnv: Record<string, string> = {};
for (const user of Object.keys(USERS) as User[]) {
  // A leading digit on purpose: unquoted, nats-server would read such a value as a number.
  passwords[user] = `4${randomBytes(12).toString('hex')}`;
  serverEnv[`${user}_NATS_PASSWORD`] = `"${passwords[user]}"`;
}

let dir: string;
let server: ConfiguredNats;
const connections: NatsConnection[] = [];
const settings: PaymentStreamSettings = parseConfig({}).paymentStream;
/** How the processes run in docker-compose.yml (NODE_ENV=production): they only check the stream. */
const checkOnly: PaymentStreamSettings = { ...settings, setup: 'check' };
const logger = createLogger('deploy-nats-test', 'silent');

const natsConfig = (env: Record<string, string>): Config['nats'] => parseConfig({ NATS_URL: server.url, ...env }).nats;

async function connectAs(user: User): Promise<NatsConnection> {
  const nats = await connectNats(natsConfig({ NATS_USER: USERS[user], NATS_PASSWORD: passwords[user] }), USERS[user]);
  connections.push(nats);
  return nats;
}

/** The server's refusal of a connection with `env`'s settings. */
const refusal = (env: Record<string, string>): Promise<Error> => natsRefusal(natsConfig(env), 'deploy-test');

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'orders-deploy-nats-'));
  const configFile = path.join(dir, 'nats-server.conf');
  copyFileSync(path.join(REPO_ROOT, 'deploy/nats/nats-server.conf'), configFile);
  server = await startConfiguredNats({ dir, name: 'deploy', configFile, env: serverEnv });
});

afterAll(async () => {
  await Promise.all(connections.map((nats) => nats.close()));
  await server?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('NATS of docker-compose.yml (deploy/nats/nats-server.conf)', () => {
  it('refuses a connection without credentials or with a wrong password', async () => {
    await expect(refusal({})).resolves.toMatchObject({ message: expect.stringMatching(/authorization/i) });
    await expect(
      refusal({ NATS_USER: USERS.ORDERS_GATEWAY, NATS_PASSWORD: passwords.ORDERS_WORKER }),
    ).resolves.toMatchObject({ message: expect.stringMatching(/authorization/i) });
  });

  it('lets the admin set up the stream and every durable consumer, which each process then finds', async () => {
    const admin = await connectAs('ORDERS_ADMIN');
    const result = await setUpPaymentStream(admin, settings);
    expect(result.stream.action).toBe('created');
    expect(Object.keys(result.consumers).sort()).toEqual(PAYMENT_STREAM_CONSUMERS.map((spec) => spec.durable).sort());

    const gateway = await connectAs('ORDERS_GATEWAY');
    const payments = await connectAs('PAYMENTS_SERVICE');
    const mine: Record<string, NatsConnection> = {
      'orders-payment-succeeded': gateway,
      'orders-refund-done': gateway,
      'orders-refund-failed': gateway,
      'payments-refunds': payments,
    };
    expect(Object.keys(mine).sort()).toEqual(Object.keys(result.consumers).sort());
    for (const nats of [gateway, payments]) {
      await expect(ensurePaymentStream(nats, checkOnly)).resolves.toMatchObject({ action: 'unchanged' });
    }
    for (const spec of PAYMENT_STREAM_CONSUMERS) {
      const nats = mine[spec.durable] as NatsConnection;
      await expect(ensureDurableConsumer(await jetstreamManager(nats), spec, 'check')).resolves.toMatchObject({
        action: 'unchanged',
      });
    }
  });

  it('carries a payment from the payments service to the gateway, and a refund request from the worker to payments', async () => {
    const [payments, gateway, worker] = await Promise.all([
      connectAs('PAYMENTS_SERVICE'),
      connectAs('ORDERS_GATEWAY'),
      connectAs('ORDERS_WORKER'),
    ]);
    const orderId = randomUUID();
    const payment = { orderId, stripePaymentId: `pi_${orderId}`, receiptUrl: null };
    await jetstream(payments).publish(PAYMENT_SUCCEEDED_SUBJECT, encodeEvent(PAYMENT_SUCCEEDED_SUBJECT, payment));
    await expect(nextMessage(gateway, 'orders-payment-succeeded', orderId)).resolves.toEqual(payment);

    const refund = { orderId, stripePaymentId: `pi_${orderId}` };
    await jetstream(worker).publish(REFUND_REQUESTED_SUBJECT, encodeEvent(REFUND_REQUESTED_SUBJECT, refund));
    await expect(nextMessage(payments, 'payments-refunds', orderId)).resolves.toEqual(refund);
  });

  it('lets the worker ask the products and payments services, which answer', async () => {
    const [worker, products, payments] = await Promise.all([
      connectAs('ORDERS_WORKER'),
      connectAs('PRODUCTS_SERVICE'),
      connectAs('PAYMENTS_SERVICE'),
    ]);
    const inboxes = parseConfig({}).nats.inboxPrefixes;
    const servers = [
      serveRequests(products, { validate_products: async (ids) => ids }, 'products', logger, inboxes),
      serveRequests(payments, { 'create.payment.session': async () => ({ url: 'u' }) }, 'payments', logger, inboxes),
    ];
    try {
      await Promise.all([products.flush(), payments.flush()]);
      await expect(requestPeer(worker, 'validate_products', [1, 2], 5_000)).resolves.toEqual([1, 2]);
      await expect(requestPeer(worker, 'create.payment.session', {}, 5_000)).resolves.toEqual({ url: 'u' });
    } finally {
      await Promise.all(servers.map((served) => served.drain()));
    }
  });

  it.each(['ORDERS_WORKER', 'ORDERS_GATEWAY', 'PRODUCTS_SERVICE', 'ORDERS_ADMIN'] as const)(
    'lets only the payments service publish payment.succeeded, not %s',
    async (user) => {
      const nats = await connectAs(user);
      await permissionViolation(nats, 'publish', PAYMENT_SUCCEEDED_SUBJECT, () =>
        nats.publish(PAYMENT_SUCCEEDED_SUBJECT, encodeEvent(PAYMENT_SUCCEEDED_SUBJECT, { orderId: randomUUID() })),
      );
    },
  );

  it.each(['ORDERS_WORKER', 'ORDERS_GATEWAY', 'PRODUCTS_SERVICE', 'PAYMENTS_SERVICE'] as const)(
    'refuses %s changing or deleting the stream (only the admin sets it up)',
    async (user) => {
      const nats = await connectAs(user);
      for (const subject of [`$JS.API.STREAM.UPDATE.${PAYMENT_STREAM}`, `$JS.API.STREAM.DELETE.${PAYMENT_STREAM}`]) {
        await permissionViolation(nats, 'publish', subject, () => nats.publish(subject));
      }
    },
  );

  it.each(['PRODUCTS_SERVICE', 'PAYMENTS_SERVICE'] as const)(
    'refuses %s publishing its reply on an event subject a requester names (no allow_responses)',
    async (user) => {
      // A hand-made responder without the service's own check: the server alone must stop it, or a
      // requester could make it forge a payment or a refund request. (A JetStream API reply never
      // reaches a responder: nats-server drops such a request itself.)
      const responder = await connectAs(user);
      const subject = { PRODUCTS_SERVICE: 'validate_products', PAYMENTS_SERVICE: 'identify.payments' }[user];
      responder.subscribe(subject, {
        callback: (_error, msg) => {
          msg.respond(encodeJson({ answer: 1 }));
        },
      });
      await responder.flush();
      const requester = await connectAs('ORDERS_WORKER');
      const reply = { PRODUCTS_SERVICE: PAYMENT_SUCCEEDED_SUBJECT, PAYMENTS_SERVICE: REFUND_REQUESTED_SUBJECT }[user];
      await permissionViolation(responder, 'publish', reply, () =>
        requester.publish(subject, encodeJson({ pattern: subject, data: {} }), { reply }),
      );
    },
  );

  it('refuses the admin deleting or purging the stream', async () => {
    const admin = await connectAs('ORDERS_ADMIN');
    for (const subject of [`$JS.API.STREAM.DELETE.${PAYMENT_STREAM}`, `$JS.API.STREAM.PURGE.${PAYMENT_STREAM}`]) {
      await permissionViolation(admin, 'publish', subject, () => admin.publish(subject));
    }
  });

  it('refuses the gateway reading refund requests, and products publishing anything', async () => {
    const [gateway, products] = await Promise.all([connectAs('ORDERS_GATEWAY'), connectAs('PRODUCTS_SERVICE')]);
    await permissionViolation(gateway, 'subscription', REFUND_REQUESTED_SUBJECT, () => {
      gateway.subscribe(REFUND_REQUESTED_SUBJECT);
    });
    await permissionViolation(products, 'publish', 'orders.create', () => products.publish('orders.create'));
  });
});

/** The next message of `durable` for `orderId`, read and acknowledged as the consumer's process does. */
async function nextMessage(nats: NatsConnection, durable: string, orderId: string): Promise<unknown> {
  const consumer = await jetstream(nats).consumers.get(PAYMENT_STREAM, durable);
  for (;;) {
    const msg = await consumer.next({ expires: 5_000 });
    if (msg === null) throw new Error(`no message for ${orderId} on ${durable}`);
    const body = msg.json<{ data: { orderId: string } }>();
    await msg.ackAck();
    if (body.data.orderId === orderId) return body.data;
  }
}
