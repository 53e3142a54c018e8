import type { NatsConnection } from '@nats-io/nats-core';
import {
  jetstream,
  jetstreamManager,
  AckPolicy,
  DeliverPolicy,
  StorageType,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { parseConfig, type PaymentStreamSettings } from '../src/config';
import { connectNats } from '../src/nats/connection';
import { ensureDurableConsumer } from '../src/nats/durable-consumer';
import { encodeEvent } from '../src/nats/nest-transport';
import { ensurePaymentStream, PAYMENT_STREAM, paymentStreamConfig } from '../src/nats/payment-stream';
import { PAYMENT_STREAM_CONSUMERS, setUpPaymentStream } from '../src/nats/stream-setup';
import { securedProductionEnv } from './support/production-env';
import { PAYMENT_SUCCEEDED_SUBJECT, REFUND_REQUESTED_SUBJECT } from '../src/nats/subjects';
import { createLogger } from '../src/logger';
import { startPaymentsService } from '../src/payments/service';
import { createStripeClient } from '../src/payments/stripe-client';
import { startPrivateNats, type PrivateNats } from './support/private-nats';

/** The PAYMENTS stream and its consumers are brought to the configuration at start-up. */

const MS = 1_000_000;
const MIB = 1024 * 1024;
const defaults: PaymentStreamSettings = parseConfig({}).paymentStream;

let server: PrivateNats;
let nats: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  server = await startPrivateNats();
  nats = await connectNats({ ...parseConfig(process.env).nats, url: server.url }, 'payment-stream-test');
  jsm = await jetstreamManager(nats);
});

afterAll(async () => {
  await nats?.close();
  await server?.stop();
});

beforeEach(async () => {
  await jsm.streams.delete(PAYMENT_STREAM).catch(() => false);
});

it('has limits by default: 7 days, 1 GiB, one replica; managed at start-up except in production', () => {
  expect(defaults).toEqual({ maxAgeMs: 7 * 24 * 60 * 60 * 1000, maxBytes: 1024 * MIB, replicas: 1, setup: 'manage' });
  expect(parseConfig(securedProductionEnv()).paymentStream.setup).toBe('check');
  expect(parseConfig({ ...securedProductionEnv(), PAYMENT_STREAM_SETUP: 'manage' }).paymentStream.setup).toBe('manage');
  expect(() => parseConfig({ PAYMENT_STREAM_SETUP: 'sometimes' })).toThrow(/PAYMENT_STREAM_SETUP/);
  expect(
    parseConfig({
      PAYMENT_STREAM_MAX_AGE_MS: '3600000',
      PAYMENT_STREAM_MAX_BYTES: String(64 * MIB),
      PAYMENT_STREAM_REPLICAS: '3',
    }).paymentStream,
  ).toEqual({ maxAgeMs: 3_600_000, maxBytes: 64 * MIB, replicas: 3, setup: 'manage' });
});

it('creates the stream with both payment subjects and the configured limits', async () => {
  await expect(ensurePaymentStream(nats, { maxAgeMs: 3_600_000, maxBytes: 64 * MIB, replicas: 1 })).resolves.toEqual({
    action: 'created',
    changes: [],
  });
  const { config } = await jsm.streams.info(PAYMENT_STREAM);
  expect(config).toMatchObject({
    subjects: paymentStreamConfig(defaults).subjects,
    storage: StorageType.File,
    max_age: 3_600_000 * MS,
    max_bytes: 64 * MIB,
    num_replicas: 1,
    // Never longer than the stream keeps messages.
    duplicate_window: 3_600_000 * MS,
    deny_purge: true,
    deny_delete: true,
  });
});

it('refuses purging the stream and deleting a message from it', async () => {
  await ensurePaymentStream(nats, defaults);
  const ack = await jetstream(nats).publish(PAYMENT_SUCCEEDED_SUBJECT, encodeEvent(PAYMENT_SUCCEEDED_SUBJECT, {}));
  await expect(jsm.streams.purge(PAYMENT_STREAM)).rejects.toThrow(/purge/i);
  await expect(jsm.streams.purge(PAYMENT_STREAM, { filter: PAYMENT_SUCCEEDED_SUBJECT })).rejects.toThrow(/purge/i);
  await expect(jsm.streams.deleteMessage(PAYMENT_STREAM, ack.seq)).rejects.toThrow(/delete/i);
  await expect(jsm.streams.deleteMessage(PAYMENT_STREAM, ack.seq, false)).rejects.toThrow(/delete/i);
  expect((await jsm.streams.info(PAYMENT_STREAM)).state.messages).toBe(1);
});

it('updates an existing stream without the refund subject and with other limits, keeping its messages', async () => {
  await jsm.streams.add({
    name: PAYMENT_STREAM,
    subjects: [PAYMENT_SUCCEEDED_SUBJECT],
    storage: StorageType.File,
    max_bytes: 2 * MIB,
  });
  await jetstream(nats).publish(PAYMENT_SUCCEEDED_SUBJECT, encodeEvent(PAYMENT_SUCCEEDED_SUBJECT, { kept: true }));

  const result = await ensurePaymentStream(nats, defaults);
  expect(result.action).toBe('updated');
  expect(result.changes).toEqual([
    expect.stringMatching(/^subjects /),
    expect.stringMatching(/^max_age is 0, wanted 604800000000000 \(PAYMENT_STREAM_MAX_AGE_MS\)/),
    expect.stringMatching(/^max_bytes is 2097152, wanted 1073741824 \(PAYMENT_STREAM_MAX_BYTES\)/),
    expect.stringMatching(/^duplicate_window /),
    'deny_purge is false, wanted true',
    'deny_delete is false, wanted true',
  ]);
  const info = await jsm.streams.info(PAYMENT_STREAM);
  expect(info.config).toMatchObject({
    subjects: paymentStreamConfig(defaults).subjects,
    max_age: defaults.maxAgeMs * MS,
    max_bytes: defaults.maxBytes,
    duplicate_window: 24 * 60 * 60 * 1000 * MS,
    deny_purge: true,
    deny_delete: true,
  });
  expect(info.state.messages).toBe(1);
  await expect(ensurePaymentStream(nats, defaults)).resolves.toEqual({ action: 'unchanged', changes: [] });
});

it('stops with an error naming a difference NATS cannot update (storage)', async () => {
  await jsm.streams.add({
    name: PAYMENT_STREAM,
    subjects: [PAYMENT_SUCCEEDED_SUBJECT, REFUND_REQUESTED_SUBJECT],
    storage: StorageType.Memory,
  });
  await expect(ensurePaymentStream(nats, defaults)).rejects.toThrow(
    /stream PAYMENTS differs where NATS cannot update it: storage is "memory", wanted "file"/,
  );
  // Nothing was changed.
  expect((await jsm.streams.info(PAYMENT_STREAM)).config.max_bytes).toBe(-1);
});

it('stops with an error naming the replicas a single server cannot have', async () => {
  await ensurePaymentStream(nats, defaults);
  const refusal = /cannot have num_replicas 3 \(PAYMENT_STREAM_REPLICAS\): the NATS server is not part of a cluster/;
  await expect(ensurePaymentStream(nats, { ...defaults, replicas: 3 })).rejects.toThrow(refusal);
  expect((await jsm.streams.info(PAYMENT_STREAM)).config.num_replicas).toBe(1);
  await jsm.streams.delete(PAYMENT_STREAM);
  await expect(ensurePaymentStream(nats, { ...defaults, replicas: 3 })).rejects.toThrow(refusal);
});

it('updates a durable consumer whose subject or ack wait differ, and names a policy it cannot change', async () => {
  await ensurePaymentStream(nats, defaults);
  await jsm.consumers.add(PAYMENT_STREAM, {
    durable_name: 'reshaped',
    filter_subject: PAYMENT_SUCCEEDED_SUBJECT,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: 5_000 * MS,
  });
  const result = await ensureDurableConsumer(jsm, { durable: 'reshaped', subject: REFUND_REQUESTED_SUBJECT });
  expect(result).toEqual({
    action: 'updated',
    changes: [
      `filter_subject is "${PAYMENT_SUCCEEDED_SUBJECT}", wanted "${REFUND_REQUESTED_SUBJECT}"`,
      `ack_wait is ${5_000 * MS}, wanted ${30_000 * MS}`,
    ],
  });
  expect((await jsm.consumers.info(PAYMENT_STREAM, 'reshaped')).config).toMatchObject({
    filter_subject: REFUND_REQUESTED_SUBJECT,
    ack_wait: 30_000 * MS,
  });
  await expect(ensureDurableConsumer(jsm, { durable: 'reshaped', subject: REFUND_REQUESTED_SUBJECT })).resolves.toEqual(
    {
      action: 'unchanged',
      changes: [],
    },
  );

  await jsm.consumers.add(PAYMENT_STREAM, {
    durable_name: 'only-new',
    filter_subject: PAYMENT_SUCCEEDED_SUBJECT,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.New,
  });
  await expect(ensureDurableConsumer(jsm, { durable: 'only-new', subject: PAYMENT_SUCCEEDED_SUBJECT })).rejects.toThrow(
    /consumer only-new of stream PAYMENTS differs where NATS cannot update it: deliver_policy is "new", wanted "all"/,
  );
});

describe('PAYMENT_STREAM_SETUP=check (runtime users may not create or update streams)', () => {
  const check: PaymentStreamSettings = { ...defaults, setup: 'check' };
  const paymentsConfig = () => {
    const config = parseConfig({ ...process.env, NATS_URL: server.url, PAYMENT_STREAM_SETUP: 'check' });
    return { ...config, payments: { ...config.payments, httpPort: 0 } };
  };
  const startPayments = () =>
    startPaymentsService({
      nats,
      stripe: createStripeClient(paymentsConfig().stripe),
      logger: createLogger('payment-stream-test', 'silent'),
      config: paymentsConfig(),
    });

  it('starts against the stream and consumers npm run nats:setup made, changing nothing', async () => {
    const setup = await setUpPaymentStream(nats, check);
    expect(setup.stream.action).toBe('created');
    expect(Object.keys(setup.consumers)).toEqual(PAYMENT_STREAM_CONSUMERS.map((spec) => spec.durable));
    const before = await jsm.streams.info(PAYMENT_STREAM);
    await expect(ensurePaymentStream(nats, check)).resolves.toEqual({ action: 'unchanged', changes: [] });
    for (const spec of PAYMENT_STREAM_CONSUMERS) {
      await expect(ensureDurableConsumer(jsm, spec, 'check')).resolves.toEqual({ action: 'unchanged', changes: [] });
    }
    const payments = await startPayments();
    await payments.stop();
    expect((await jsm.streams.info(PAYMENT_STREAM)).config).toEqual(before.config);
    // Run again, the setup step finds nothing to do.
    const again = await setUpPaymentStream(nats, check);
    expect(new Set([again.stream, ...Object.values(again.consumers)].map((result) => result.action))).toEqual(
      new Set(['unchanged']),
    );
  });

  it('refuses to start naming each field that differs, and changes nothing', async () => {
    // As configured but for its size and the two deny flags.
    await jsm.streams.add({
      ...paymentStreamConfig(defaults),
      max_bytes: 2 * MIB,
      deny_purge: false,
      deny_delete: false,
    });
    const refusal = await ensurePaymentStream(nats, check).catch((error: unknown) => error as Error);
    expect(refusal).toBeInstanceOf(Error);
    expect((refusal as Error).message).toBe(
      'JetStream stream PAYMENTS is not as configured: max_bytes is 2097152, wanted 1073741824 (PAYMENT_STREAM_MAX_BYTES); ' +
        'deny_purge is false, wanted true; deny_delete is false, wanted true; ' +
        'run `npm run nats:setup` as a NATS admin (PAYMENT_STREAM_SETUP=check)',
    );
    await expect(startPayments()).rejects.toThrow(
      /max_bytes is 2097152, wanted 1073741824 \(PAYMENT_STREAM_MAX_BYTES\)/,
    );
    expect((await jsm.streams.info(PAYMENT_STREAM)).config).toMatchObject({ max_bytes: 2 * MIB });
    expect((await jsm.streams.info(PAYMENT_STREAM)).config.deny_purge).toBeFalsy();
  });

  it('refuses to start without the stream, or without its consumer, creating neither', async () => {
    await expect(ensurePaymentStream(nats, check)).rejects.toThrow(
      'JetStream stream PAYMENTS does not exist: run `npm run nats:setup`',
    );
    await expect(startPayments()).rejects.toThrow(/stream PAYMENTS does not exist/);
    await expect(jsm.streams.info(PAYMENT_STREAM)).rejects.toThrow(/not found/);

    await ensurePaymentStream(nats, defaults);
    await expect(startPayments()).rejects.toThrow(
      'JetStream consumer payments-refunds of stream PAYMENTS does not exist: run `npm run nats:setup`',
    );
    await expect(jsm.consumers.info(PAYMENT_STREAM, 'payments-refunds')).rejects.toThrow(/not found/);
  });
});
