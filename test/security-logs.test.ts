import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { NatsConnection } from '@nats-io/nats-core';
import pg from 'pg';
import { parseConfig } from '../src/config';
import { appCommand, buildApps } from '../dev/infra/app-process';
import type { ManagedProcess } from '../dev/infra/managed-process';
import { freePorts } from '../dev/infra/ports';
import { startService } from '../dev/infra/start-service';
import { connectNats } from '../src/nats/connection';
import { requestPeer } from '../src/nats/nest-transport';
import { setUpPaymentStream } from '../src/nats/stream-setup';
import type { OrderWithItems } from '../src/orders/types';
import { checkoutSessionEvent, postWebhook, signEvent, webhookUrl } from '../src/payments/test-events';
import { eventually } from './support/eventually';
import { REPO_ROOT } from './support/run-command';
import {
  asUser,
  makeCertificates,
  privateDatabase,
  startConfiguredNats,
  startTlsProxy,
  type ConfiguredNats,
  type TlsProxy,
} from './security-helpers';

/**
 * The four real processes, compiled and run as `npm start` and the Docker image run them (the other
 * tests run the sources), with every secret set to a distinctive value, drive one order through
 * creation and a signed webhook payment; afterwards none of the secrets (nor the webhook's
 * stripe-signature header) may appear anywhere in what they printed, even at LOG_LEVEL=trace.
 *
 * Everything is secured as in production: NATS with per-process users and subject permissions
 * (docs/nats-server.example.conf) over mutual TLS, Temporal over mutual TLS with an API key and
 * encrypted payloads, PostgreSQL as a password-carrying member of orders_app. The services are the
 * test's own (NATS, Temporal, database), so nothing it stores meets other test files' audits.
 */

const TEMPORAL_SERVER_NAME = 'temporal.orders.test';
const PROCESSES = {
  worker: { script: 'src/worker.ts', natsUser: 'ORDERS_WORKER' },
  gateway: { script: 'src/gateway/main.ts', natsUser: 'ORDERS_GATEWAY' },
  products: { script: 'src/products/main.ts', natsUser: 'PRODUCTS_SERVICE' },
  payments: { script: 'src/payments/main.ts', natsUser: 'PAYMENTS_SERVICE' },
} as const;
type ProcessName = keyof typeof PROCESSES;
const NATS_USERS = [
  'ORDERS_WORKER',
  'ORDERS_GATEWAY',
  'PRODUCTS_SERVICE',
  'PAYMENTS_SERVICE',
  'SHOP_GATEWAY',
  'ORDERS_OPERATOR',
  'ORDERS_ADMIN',
];

// Distinctive and long enough that a match can only be a leak.
const marker = (prefix: string): string => `${prefix}LEAK${randomBytes(12).toString('hex')}`;
const secrets = {
  stripeSecretKey: marker('sk_test_'),
  stripeWebhookSecret: marker('whsec_'),
  temporalApiKey: marker('tak'),
  temporalEncryptionKey: randomBytes(32).toString('base64'),
  databasePassword: marker('db'),
  ...Object.fromEntries(NATS_USERS.map((user) => [`nats:${user}`, marker('nats')])),
} as Record<string, string>;

interface RunningProcess {
  child: ChildProcess;
  output: string[];
  ready: Promise<void>;
  exited: Promise<number | null>;
}

/** Starts one of the processes, keeping everything it prints (stdout and stderr). */
function startProcess(name: ProcessName, env: NodeJS.ProcessEnv): RunningProcess {
  const { command, args } = appCommand(PROCESSES[name].script, 'compiled');
  const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  let markReady: () => void = () => undefined;
  const readyLine = new Promise<void>((resolve) => (markReady = resolve));
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output.push(text);
      if (text.includes('"msg":"ready"')) markReady();
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = Promise.race([
    readyLine,
    exited.then((code) => {
      throw new Error(`${name} exited (${code}) before it was ready:\n${output.join('')}`);
    }),
    delay(60_000, undefined, { ref: false }).then(() => {
      throw new Error(`${name} was not ready within 60 s:\n${output.join('')}`);
    }),
  ]);
  ready.catch(() => undefined);
  return { child, output, ready, exited };
}

describe('secrets never appear in the processes’ logs', () => {
  let dir: string;
  const cleanups: (() => Promise<unknown>)[] = [];
  const running = new Map<ProcessName, RunningProcess>();
  let nats: ConfiguredNats;
  let shop: NatsConnection;
  let paymentsUrl: string;
  let productId: number;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'orders-security-logs-'));
    await buildApps({ name: 'build', cwd: REPO_ROOT, env: process.env });
    const certs = makeCertificates(dir, TEMPORAL_SERVER_NAME);

    // NATS: the example permissions, over mutual TLS.
    const natsConfigFile = path.join(dir, 'nats.conf');
    copyFileSync(path.join(REPO_ROOT, 'docs/nats-server.example.conf'), natsConfigFile);
    appendFileSync(
      natsConfigFile,
      `\ntls {\n  cert_file: "${certs.serverCertFile}"\n  key_file: "${certs.serverKeyFile}"\n  ca_file: "${certs.caFile}"\n  verify: true\n}\n`,
    );
    nats = await startConfiguredNats({
      dir,
      name: 'nats',
      configFile: natsConfigFile,
      env: Object.fromEntries(NATS_USERS.map((user) => [`${user}_NATS_PASSWORD`, secrets[`nats:${user}`] as string])),
    });
    cleanups.push(() => nats.stop());

    // Temporal: a dev server of its own, reached through mutual TLS under another server name.
    const [temporalPort, paymentsPort] = (await freePorts(2)) as [number, number];
    const temporal: ManagedProcess = await startService('temporal', {
      port: temporalPort,
      detached: false,
      logFile: path.join(dir, 'temporal.log'),
    });
    cleanups.push(() => temporal.stop());
    const proxy: TlsProxy = await startTlsProxy({
      targetPort: temporalPort,
      certFile: certs.serverCertFile,
      keyFile: certs.serverKeyFile,
      clientCaFile: certs.caFile,
    });
    cleanups.push(() => proxy.close());

    // PostgreSQL: a database of its own, used through a login role in the orders_app group.
    const database = await privateDatabase('orders_security_logs');
    cleanups.push(() => database.drop());
    const role = `orders_service_${randomBytes(4).toString('hex')}`;
    const owner = new pg.Client({ connectionString: database.url });
    await owner.connect();
    try {
      await owner.query(
        `CREATE ROLE ${pg.escapeIdentifier(role)} LOGIN PASSWORD ${pg.escapeLiteral(secrets.databasePassword as string)} IN ROLE orders_app`,
      );
      cleanups.push(async () => {
        const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
        await admin.connect();
        await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(role)}`).finally(() => admin.end());
      });
      const product = await owner.query<{ id: number }>(
        `INSERT INTO products (name, price) VALUES ('Desk lamp', 24.5) RETURNING id`,
      );
      productId = product.rows[0]?.id as number;
    } finally {
      await owner.end();
    }

    paymentsUrl = `http://127.0.0.1:${paymentsPort}`;
    env = {
      ...process.env,
      // The strictest check: everything the processes can log, they log.
      LOG_LEVEL: 'trace',
      TEMPORAL_ADDRESS: `127.0.0.1:${proxy.port}`,
      TEMPORAL_TASK_QUEUE: 'orders-security',
      TEMPORAL_TLS_CA_FILE: certs.caFile,
      TEMPORAL_TLS_CERT_FILE: certs.clientCertFile,
      TEMPORAL_TLS_KEY_FILE: certs.clientKeyFile,
      TEMPORAL_TLS_SERVER_NAME: TEMPORAL_SERVER_NAME,
      TEMPORAL_API_KEY: secrets.temporalApiKey,
      TEMPORAL_ENCRYPTION_KEY: secrets.temporalEncryptionKey,
      NATS_URL: `tls://127.0.0.1:${nats.port}`,
      NATS_TLS_CA_FILE: certs.caFile,
      NATS_TLS_CERT_FILE: certs.clientCertFile,
      NATS_TLS_KEY_FILE: certs.clientKeyFile,
      DATABASE_URL: asUser(database.url, role, secrets.databasePassword),
      MIGRATION_DATABASE_URL: database.url,
      STRIPE_SECRET_KEY: secrets.stripeSecretKey,
      STRIPE_WEBHOOK_SECRET: secrets.stripeWebhookSecret,
      PAYMENTS_HTTP_PORT: String(paymentsPort),
      PAYMENTS_PUBLIC_URL: paymentsUrl,
      // As in production: the stream is set up at deploy time (below), the processes only check it.
      PAYMENT_STREAM_SETUP: 'check',
    };
    const admin = await connectNats(
      parseConfig({ ...env, NATS_USER: 'orders-admin', NATS_PASSWORD: secrets['nats:ORDERS_ADMIN'] }).nats,
      'orders-nats-setup',
    );
    await setUpPaymentStream(admin, parseConfig(env).paymentStream).finally(() => admin.close());
    shop = await connectNats(
      parseConfig({ ...env, NATS_USER: 'shop-gateway', NATS_PASSWORD: secrets['nats:SHOP_GATEWAY'] }).nats,
      'shop-gateway',
    );
    cleanups.push(() => shop.close());
  }, 120_000);

  afterAll(async () => {
    for (const process of running.values()) process.child.kill('SIGKILL');
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('through an order’s creation, a forged webhook and a signed payment', async () => {
    for (const [name, { natsUser }] of Object.entries(PROCESSES) as [ProcessName, (typeof PROCESSES)[ProcessName]][]) {
      running.set(
        name,
        startProcess(name, {
          ...env,
          NATS_USER: natsUser.toLowerCase().replace(/_/g, '-'),
          NATS_PASSWORD: secrets[`nats:${natsUser}`],
        }),
      );
    }
    await Promise.all([...running.values()].map((process) => process.ready));

    const { order } = await requestPeer<{ order: OrderWithItems }>(
      shop,
      'orders.create',
      { items: [{ productId, quantity: 2 }] },
      30_000,
    );
    expect(order).toMatchObject({ status: 'PENDING', totalAmount: 49 });

    const event = checkoutSessionEvent({ orderId: order.id });
    const forged = signEvent(event, 'whsec_not_the_secret');
    expect((await postWebhook(webhookUrl(paymentsUrl), forged)).status).toBe(400);
    const signed = signEvent(event, secrets.stripeWebhookSecret as string);
    expect((await postWebhook(webhookUrl(paymentsUrl), signed)).status).toBe(200);
    await eventually(async () => {
      await expect(requestPeer(shop, 'orders.find.one', { id: order.id }, 5_000)).resolves.toMatchObject({
        status: 'PAID',
      });
    }, 30_000);

    for (const process of running.values()) process.child.kill('SIGTERM');
    const codes = await Promise.all([...running.values()].map((process) => process.exited));
    expect(codes).toEqual([0, 0, 0, 0]);

    const logs = Object.fromEntries([...running].map(([name, process]) => [name, process.output.join('')]));
    // The run logged plenty, so finding nothing means something.
    expect(logs.gateway).toContain('payment signalled');
    expect(logs.payments).toContain('payment event stored');
    expect(logs.payments).toContain('webhook refused');
    const searched = {
      ...secrets,
      'stripe-signature header (forged)': forged.signature,
      'stripe-signature header (signed)': signed.signature,
      'signature (v1)': /v1=([0-9a-f]+)/.exec(signed.signature)?.[1] ?? 'missing',
    };
    const leaks = Object.entries(logs).flatMap(([name, text]) =>
      Object.entries(searched)
        .filter(([, value]) => text.includes(value))
        .map(([secret]) => `${secret} in the ${name} log`),
    );
    expect(leaks).toEqual([]);
    // The permissions of docs/nats-server.example.conf were enough for all of it.
    expect(readFileSync(nats.logFile, 'utf8')).not.toMatch(/Permissions Violation|Authorization Error/i);
  }, 180_000);

  it('when a process cannot start (NATS refuses its password), it says why without the secrets', async () => {
    const wrongPassword = marker('natswrong');
    const gateway = startProcess('gateway', { ...env, NATS_USER: 'orders-gateway', NATS_PASSWORD: wrongPassword });
    expect(await gateway.exited).toBe(1);
    const output = gateway.output.join('');
    expect(output).toContain('failed to start');
    expect(output).toMatch(/authorization violation/i);
    const leaked = Object.entries({ ...secrets, wrongPassword }).filter(([, value]) => output.includes(value));
    expect(leaked.map(([name]) => name)).toEqual([]);
  });

  it('redacts secrets from any object a process might log: the whole configuration, request headers', async () => {
    const signature = marker('t=1,v1=');
    // What a careless log line would look like; the logger must censor it anyway.
    const code = [
      "import { createLogger } from './src/logger';",
      "import { parseConfig } from './src/config';",
      "const logger = createLogger('leak-check', 'trace');",
      'const config = parseConfig(process.env);',
      "logger.info({ config }, 'configuration');",
      "logger.info({ nats: config.nats, temporal: config.temporal, stripe: config.stripe, databaseUrl: config.databaseUrl }, 'sections');",
      "logger.info({ req: { headers: { 'stripe-signature': process.env.LEAK_SIGNATURE, authorization: `Bearer ${config.temporal.apiKey}` } } }, 'request');",
    ].join('\n');
    const child = spawn(process.execPath, [require.resolve('tsx/cli'), '-e', code], {
      cwd: REPO_ROOT,
      env: {
        ...env,
        NATS_USER: 'orders-gateway',
        NATS_PASSWORD: secrets['nats:ORDERS_GATEWAY'],
        LEAK_SIGNATURE: signature,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    expect(await new Promise((resolve) => child.once('close', resolve))).toBe(0);
    expect(output.split('\n').filter((line) => line.includes('[redacted]'))).toHaveLength(3);
    const leaked = Object.entries({ ...secrets, signature }).filter(([, value]) => output.includes(value));
    expect(leaked.map(([name]) => name)).toEqual([]);
  });
});
