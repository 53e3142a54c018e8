import { randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { nkeys, type NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { parseConfig, type Config } from '../src/config';
import { createDeadLettersRepository } from '../src/db/dead-letters-repository';
import { createDatabasePool, type DatabasePool } from '../src/db/pool';
import { startGateway, type Gateway } from '../src/gateway/service';
import { createLogger } from '../src/logger';
import { connectNats } from '../src/nats/connection';
import { encodeEvent, encodeJson, requestPeer } from '../src/nats/nest-transport';
import { RpcError } from '../src/rpc-error';
import { PAYMENT_STREAM } from '../src/nats/payment-stream';
import { PAYMENT_STREAM_CONSUMERS } from '../src/nats/stream-setup';
import { PAYMENT_SUCCEEDED_SUBJECT } from '../src/nats/subjects';
import { connectTemporalClient } from '../src/temporal/connection';
import { eventually } from './support/eventually';
import { REPO_ROOT, runScript, type CommandResult } from './support/run-command';
import {
  makeCertificates,
  natsRefusal,
  permissionViolation,
  privateDatabase,
  startConfiguredNats,
  type ConfiguredNats,
} from './security-helpers';

let dir: string;
const started: ConfiguredNats[] = [];

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'orders-security-nats-'));
});

afterAll(async () => {
  await Promise.all(started.map((server) => server.stop()));
  rmSync(dir, { recursive: true, force: true });
});

async function natsWithConfig(name: string, text: string, env: Record<string, string> = {}): Promise<ConfiguredNats> {
  const configFile = path.join(dir, `${name}.conf`);
  writeFileSync(configFile, text);
  const server = await startConfiguredNats({ dir, name, configFile, env });
  started.push(server);
  return server;
}

/** The NATS part of the configuration these variables make. */
const natsConfig = (env: Record<string, string>): Config['nats'] => parseConfig(env).nats;

/** Connects with `config` and proves the connection works with a request and its reply. */
async function roundTrip(config: Config['nats']): Promise<void> {
  const nats = await connectNats(config, 'security-test');
  try {
    const subject = `security.echo.${randomUUID()}`;
    nats.subscribe(subject, {
      callback: (_error, msg) => {
        msg.respond(msg.data);
      },
    });
    const reply = await nats.request(subject, Buffer.from('ping'), { timeout: 2_000 });
    expect(Buffer.from(reply.data).toString()).toBe('ping');
  } finally {
    await nats.close();
  }
}

/** The server's refusal of a connection with `config` (one attempt). */
const refusal = (config: Config['nats']): Promise<Error> => natsRefusal(config, 'security-test');

describe('NATS credentials from configuration', () => {
  it('user and password: only the right pair is accepted', async () => {
    const password = `p${randomBytes(12).toString('hex')}`;
    const server = await natsWithConfig(
      'userpass',
      'authorization { user: "orders", password: $TEST_NATS_PASSWORD }\n',
      {
        TEST_NATS_PASSWORD: password,
      },
    );
    await roundTrip(natsConfig({ NATS_URL: server.url, NATS_USER: 'orders', NATS_PASSWORD: password }));
    expect(
      (await refusal(natsConfig({ NATS_URL: server.url, NATS_USER: 'orders', NATS_PASSWORD: 'wrong' }))).message,
    ).toMatch(/authorization/i);
    expect((await refusal(natsConfig({ NATS_URL: server.url }))).message).toMatch(/authorization/i);
  });

  it('token: only the right token is accepted', async () => {
    const token = `t${randomBytes(16).toString('hex')}`;
    const server = await natsWithConfig('token', 'authorization { token: $TEST_NATS_TOKEN }\n', {
      TEST_NATS_TOKEN: token,
    });
    await roundTrip(natsConfig({ NATS_URL: server.url, NATS_TOKEN: token }));
    expect((await refusal(natsConfig({ NATS_URL: server.url, NATS_TOKEN: 'nope' }))).message).toMatch(/authorization/i);
  });

  it('NKey: the seed file signs the server nonce; another seed is refused', async () => {
    const user = nkeys.createUser();
    const seedFile = path.join(dir, 'orders.nk');
    writeFileSync(seedFile, `${Buffer.from(user.getSeed()).toString()}\n`, { mode: 0o600 });
    const otherSeedFile = path.join(dir, 'other.nk');
    writeFileSync(otherSeedFile, Buffer.from(nkeys.createUser().getSeed()).toString(), { mode: 0o600 });
    const server = await natsWithConfig('nkey', `authorization { users = [ { nkey: "${user.getPublicKey()}" } ] }\n`);
    await roundTrip(natsConfig({ NATS_URL: server.url, NATS_NKEY_SEED_FILE: seedFile }));
    expect((await refusal(natsConfig({ NATS_URL: server.url, NATS_NKEY_SEED_FILE: otherSeedFile }))).message).toMatch(
      /authorization/i,
    );
  });

  it('names the variable of a file that cannot be read', async () => {
    const missing = path.join(dir, 'missing.creds');
    await expect(connectNats(natsConfig({ NATS_CREDS_FILE: missing }), 'security-test')).rejects.toThrow(
      `NATS_CREDS_FILE: cannot read ${missing}`,
    );
  });
});

describe('NATS over TLS with a private CA', () => {
  let certs: ReturnType<typeof makeCertificates>;
  let server: ConfiguredNats;

  beforeAll(async () => {
    certs = makeCertificates(mkdtempSync(path.join(dir, 'certs-')));
    // Mutual TLS: the server also checks that the client's certificate comes from the CA.
    server = await natsWithConfig(
      'tls',
      `tls {\n  cert_file: "${certs.serverCertFile}"\n  key_file: "${certs.serverKeyFile}"\n  ca_file: "${certs.caFile}"\n  verify: true\n}\n`,
    );
  });

  const mutualTls = (url: string): Record<string, string> => ({
    NATS_URL: url,
    NATS_TLS_CA_FILE: certs.caFile,
    NATS_TLS_CERT_FILE: certs.clientCertFile,
    NATS_TLS_KEY_FILE: certs.clientKeyFile,
  });

  it('connects with the CA and a client certificate, with a nats:// or a tls:// URL', async () => {
    await roundTrip(natsConfig(mutualTls(server.url)));
    await roundTrip(natsConfig(mutualTls(`tls://127.0.0.1:${server.port}`)));
  });

  it('is refused without a client certificate', async () => {
    await refusal(natsConfig({ NATS_URL: server.url, NATS_TLS_CA_FILE: certs.caFile }));
    // Under TLS 1.3 the client only learns it by its connection closing: the server says why.
    expect(readFileSync(server.logFile, 'utf8')).toContain("client didn't provide a certificate");
  });

  it('refuses a server whose certificate the configured CA did not sign', async () => {
    const otherCa = makeCertificates(mkdtempSync(path.join(dir, 'other-ca-')));
    const error = await refusal(natsConfig({ ...mutualTls(server.url), NATS_TLS_CA_FILE: otherCa.caFile }));
    expect(error.message).toMatch(/certificate/i);
  });

  it('never sends credentials in the clear: TLS asked for, a server without TLS is refused', async () => {
    const plain = await natsWithConfig('plain-for-tls', 'authorization { user: "orders", password: "not-sent" }\n');
    const error = await refusal(
      natsConfig({ NATS_URL: `tls://127.0.0.1:${plain.port}`, NATS_USER: 'orders', NATS_PASSWORD: 'not-sent' }),
    );
    expect(error.message).toMatch(/tls/i);
    expect(readFileSync(plain.logFile, 'utf8')).not.toMatch(/authorization violation/i);
  });
});

describe('subject permissions of docs/nats-server.example.conf', () => {
  const passwords: Record<string, string> = {};
  const env: Record<string, string> = {};
  for (const user of [
    'ORDERS_WORKER',
    'ORDERS_GATEWAY',
    'PRODUCTS_SERVICE',
    'PAYMENTS_SERVICE',
    'SHOP_GATEWAY',
    'ORDERS_OPERATOR',
    'ORDERS_ADMIN',
  ]) {
    // nats-server reads a variable's value as a config value: a leading digit would make it a number.
    passwords[user] = `p${randomBytes(12).toString('hex')}`;
    env[`${user}_NATS_PASSWORD`] = passwords[user] as string;
  }
  const userName = (user: string): string => user.toLowerCase().replace(/_/g, '-');

  let server: ConfiguredNats;
  let database: { url: string; drop(): Promise<void> };
  let config: Config;
  let gatewayNats: NatsConnection;
  let temporal: Client;
  let pool: DatabasePool;
  let gateway: Gateway;
  let setup: CommandResult;
  const connections: NatsConnection[] = [];

  const connectAs = async (user: string): Promise<NatsConnection> => {
    const nats = await connectNats(
      natsConfig({ NATS_URL: server.url, NATS_USER: userName(user), NATS_PASSWORD: passwords[user] as string }),
      `security-${userName(user)}`,
    );
    connections.push(nats);
    return nats;
  };

  beforeAll(async () => {
    const configFile = path.join(dir, 'example.conf');
    copyFileSync(path.join(REPO_ROOT, 'docs/nats-server.example.conf'), configFile);
    server = await startConfiguredNats({ dir, name: 'example', configFile, env });
    started.push(server);
    database = await privateDatabase('orders_security_nats');
    // The deploy-time step, as the admin; the gateway then only checks what it finds.
    setup = await runScript('src/scripts/nats-setup.ts', {
      env: {
        NATS_URL: server.url,
        NATS_ADMIN_USER: 'orders-admin',
        NATS_ADMIN_PASSWORD: passwords.ORDERS_ADMIN,
        NATS_USER: undefined,
        NATS_PASSWORD: undefined,
      },
    });
    config = parseConfig({
      ...process.env,
      NATS_URL: server.url,
      NATS_USER: 'orders-gateway',
      NATS_PASSWORD: passwords.ORDERS_GATEWAY,
      DATABASE_URL: database.url,
      PAYMENT_STREAM_SETUP: 'check',
    });
    // One at a time, so what was opened before a failure is assigned and closed after.
    gatewayNats = await connectNats(config.nats, 'orders-gateway');
    connections.push(gatewayNats);
    temporal = await connectTemporalClient(config.temporal);
    pool = await createDatabasePool(config.databaseUrl);
    gateway = await startGateway({
      config,
      logger: createLogger('security-test', 'silent'),
      nats: gatewayNats,
      temporal,
      pool,
    });
  });

  afterAll(async () => {
    await gateway?.stop();
    await Promise.all(connections.map((nats) => nats.close()));
    await Promise.all([pool?.end(), temporal?.connection.close()]);
    await database?.drop();
  });

  it('lets the gateway answer the shop gateway’s requests', async () => {
    const shop = await connectAs('SHOP_GATEWAY');
    const id = randomUUID();
    const error = await requestPeer(shop, 'orders.find.one', { id }, 5_000).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RpcError);
    expect((error as RpcError).toBody()).toMatchObject({ status: 404, message: `Order with id ${id} not found` });
    await expect(requestPeer(shop, 'findAllOrders', {}, 5_000)).resolves.toMatchObject({ meta: { total: 0 } });
  });

  it('lets the gateway consume payment.succeeded that the payments service stored', async () => {
    const payments = await connectAs('PAYMENTS_SERVICE');
    const orderId = randomUUID();
    const ack = await jetstream(payments).publish(
      PAYMENT_SUCCEEDED_SUBJECT,
      encodeEvent(PAYMENT_SUCCEEDED_SUBJECT, { orderId, stripePaymentId: `pi_${orderId}`, receiptUrl: null }),
    );
    // No such order: the gateway keeps it as a dead letter, which it acknowledges in the stream.
    const deadLetters = createDeadLettersRepository(pool);
    await eventually(async () => {
      expect((await deadLetters.list()).map((letter) => letter.streamSeq)).toContain(ack.seq);
    });
  });

  it('refuses the gateway anything outside its lists', async () => {
    await permissionViolation(gatewayNats, 'publish', PAYMENT_SUCCEEDED_SUBJECT, () =>
      gatewayNats.publish(PAYMENT_SUCCEEDED_SUBJECT, encodeEvent(PAYMENT_SUCCEEDED_SUBJECT, { orderId: randomUUID() })),
    );
    await permissionViolation(gatewayNats, 'publish', 'validate_products', () =>
      gatewayNats.publish('validate_products'),
    );
    await permissionViolation(gatewayNats, 'publish', '$JS.API.STREAM.DELETE.PAYMENTS', () =>
      gatewayNats.publish('$JS.API.STREAM.DELETE.PAYMENTS'),
    );
    await permissionViolation(gatewayNats, 'subscription', 'payment.refund.requested', () => {
      gatewayNats.subscribe('payment.refund.requested');
    });
  });

  it('lets the admin set the stream and its consumers up (npm run nats:setup), refusing purges and deletes', async () => {
    expect(setup).toMatchObject({ code: 0, stderr: '' });
    expect(setup.stdout).toContain(`stream ${PAYMENT_STREAM}: created`);
    for (const spec of PAYMENT_STREAM_CONSUMERS) expect(setup.stdout).toContain(`consumer ${spec.durable}: created`);
    const jsm = await jetstreamManager(await connectAs('ORDERS_ADMIN'));
    const info = await jsm.streams.info(PAYMENT_STREAM);
    expect(info.config).toMatchObject({ deny_purge: true, deny_delete: true });
    // Not even the admin may purge it: the stream refuses.
    await expect(jsm.streams.purge(PAYMENT_STREAM)).rejects.toThrow(/purge/i);
  });

  it.each(['ORDERS_WORKER', 'ORDERS_GATEWAY', 'PRODUCTS_SERVICE', 'PAYMENTS_SERVICE', 'ORDERS_OPERATOR'])(
    'refuses %s creating, updating, purging or deleting the stream',
    async (user) => {
      const nats = await connectAs(user);
      for (const action of ['CREATE', 'UPDATE', 'PURGE', 'DELETE']) {
        const subject = `$JS.API.STREAM.${action}.${PAYMENT_STREAM}`;
        await permissionViolation(nats, 'publish', subject, () => nats.publish(subject, encodeJson({})));
      }
    },
  );

  it('refuses the gateway changing the stream’s settings through the JetStream API', async () => {
    const jsm = await jetstreamManager(gatewayNats);
    // The client reads the stream (allowed), then asks for the update: the server refuses that.
    await permissionViolation(gatewayNats, 'publish', `$JS.API.STREAM.UPDATE.${PAYMENT_STREAM}`, () => {
      jsm.streams.update(PAYMENT_STREAM, { max_bytes: 1024 * 1024 }).catch(() => undefined);
    });
    const admin = await jetstreamManager(await connectAs('ORDERS_ADMIN'));
    expect((await admin.streams.info(PAYMENT_STREAM)).config.max_bytes).toBe(config.paymentStream.maxBytes);
  });

  it('refuses a responder publishing its reply on a payment event subject the requester names', async () => {
    // A hand-made responder without the service's own check: the server alone must stop it. (A
    // JetStream API reply never reaches a responder: nats-server drops such a request itself.)
    const products = await connectAs('PRODUCTS_SERVICE');
    products.subscribe('products.find.one', {
      callback: (_error, msg) => {
        msg.respond(encodeJson({ id: 1 }));
      },
    });
    await products.flush();
    const shop = await connectAs('SHOP_GATEWAY');
    const reply = PAYMENT_SUCCEEDED_SUBJECT;
    await permissionViolation(products, 'publish', reply, () =>
      shop.publish('products.find.one', encodeJson({ pattern: 'products.find.one', data: { id: 1 } }), { reply }),
    );
    const admin = await jetstreamManager(await connectAs('ORDERS_ADMIN'));
    await expect(admin.streams.info(PAYMENT_STREAM)).resolves.toMatchObject({ config: { name: PAYMENT_STREAM } });
  });

  it.each(['ORDERS_WORKER', 'ORDERS_GATEWAY', 'PRODUCTS_SERVICE', 'SHOP_GATEWAY', 'ORDERS_OPERATOR', 'ORDERS_ADMIN'])(
    'lets only the payments service publish payment.succeeded, not %s',
    async (user) => {
      const nats = await connectAs(user);
      await permissionViolation(nats, 'publish', PAYMENT_SUCCEEDED_SUBJECT, () =>
        nats.publish(PAYMENT_SUCCEEDED_SUBJECT, encodeEvent(PAYMENT_SUCCEEDED_SUBJECT, { orderId: randomUUID() })),
      );
    },
  );
});
