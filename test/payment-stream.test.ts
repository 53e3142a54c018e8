import { AckPolicy, DeliverPolicy, StorageType, type JetStreamManager, type NatsConnection } from 'nats';
import { parseConfig, type PaymentStreamSettings } from '../src/config';
import { connectNats } from '../src/nats/connection';
import { ensureDurableConsumer } from '../src/nats/durable-consumer';
import { encodeEvent } from '../src/nats/nest-transport';
import { ensurePaymentStream, PAYMENT_STREAM } from '../src/nats/payment-stream';
import { PAYMENT_SUCCEEDED_SUBJECT, REFUND_REQUESTED_SUBJECT } from '../src/nats/subjects';
import { startPrivateNats, type PrivateNats } from './support/private-nats';

/** The PAYMENTS stream and its consumers are brought to the configuration at start-up. */

const MS = 1_000_000;
const MIB = 1024 * 1024;
const defaults: PaymentStreamSettings = parseConfig({}).paymentStream;

let server: PrivateNats;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  server = await startPrivateNats();
  nc = await connectNats({ ...parseConfig(process.env).nats, url: server.url }, 'payment-stream-test');
  jsm = await nc.jetstreamManager();
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

beforeEach(async () => {
  await jsm.streams.delete(PAYMENT_STREAM).catch(() => false);
});

it('has limits by default: 7 days, 1 GiB, one replica', () => {
  expect(defaults).toEqual({ maxAgeMs: 7 * 24 * 60 * 60 * 1000, maxBytes: 1024 * MIB, replicas: 1 });
  expect(
    parseConfig({
      PAYMENT_STREAM_MAX_AGE_MS: '3600000',
      PAYMENT_STREAM_MAX_BYTES: String(64 * MIB),
      PAYMENT_STREAM_REPLICAS: '3',
    }).paymentStream,
  ).toEqual({ maxAgeMs: 3_600_000, maxBytes: 64 * MIB, replicas: 3 });
});

it('creates the stream with both payment subjects and the configured limits', async () => {
  await expect(ensurePaymentStream(nc, { maxAgeMs: 3_600_000, maxBytes: 64 * MIB, replicas: 1 })).resolves.toEqual({
    action: 'created',
    changes: [],
  });
  const { config } = await jsm.streams.info(PAYMENT_STREAM);
  expect(config).toMatchObject({
    subjects: [PAYMENT_SUCCEEDED_SUBJECT, REFUND_REQUESTED_SUBJECT],
    storage: StorageType.File,
    max_age: 3_600_000 * MS,
    max_bytes: 64 * MIB,
    num_replicas: 1,
    // Never longer than the stream keeps messages.
    duplicate_window: 3_600_000 * MS,
  });
});

it('updates an existing stream without the refund subject and with other limits, keeping its messages', async () => {
  await jsm.streams.add({
    name: PAYMENT_STREAM,
    subjects: [PAYMENT_SUCCEEDED_SUBJECT],
    storage: StorageType.File,
    max_bytes: 2 * MIB,
  });
  await nc.jetstream().publish(PAYMENT_SUCCEEDED_SUBJECT, encodeEvent(PAYMENT_SUCCEEDED_SUBJECT, { kept: true }));

  const result = await ensurePaymentStream(nc, defaults);
  expect(result.action).toBe('updated');
  expect(result.changes).toEqual([
    expect.stringMatching(/^subjects /),
    expect.stringMatching(/^max_age is 0, wanted 604800000000000 \(PAYMENT_STREAM_MAX_AGE_MS\)/),
    expect.stringMatching(/^max_bytes is 2097152, wanted 1073741824 \(PAYMENT_STREAM_MAX_BYTES\)/),
    expect.stringMatching(/^duplicate_window /),
  ]);
  const info = await jsm.streams.info(PAYMENT_STREAM);
  expect(info.config).toMatchObject({
    subjects: [PAYMENT_SUCCEEDED_SUBJECT, REFUND_REQUESTED_SUBJECT],
    max_age: defaults.maxAgeMs * MS,
    max_bytes: defaults.maxBytes,
    duplicate_window: 24 * 60 * 60 * 1000 * MS,
  });
  expect(info.state.messages).toBe(1);
  await expect(ensurePaymentStream(nc, defaults)).resolves.toEqual({ action: 'unchanged', changes: [] });
});

it('stops with an error naming a difference NATS cannot update (storage)', async () => {
  await jsm.streams.add({
    name: PAYMENT_STREAM,
    subjects: [PAYMENT_SUCCEEDED_SUBJECT, REFUND_REQUESTED_SUBJECT],
    storage: StorageType.Memory,
  });
  await expect(ensurePaymentStream(nc, defaults)).rejects.toThrow(
    /stream PAYMENTS differs where NATS cannot update it: storage is "memory", wanted "file"/,
  );
  // Nothing was changed.
  expect((await jsm.streams.info(PAYMENT_STREAM)).config.max_bytes).toBe(-1);
});

it('stops with an error naming the replicas a single server cannot have', async () => {
  await ensurePaymentStream(nc, defaults);
  const refusal = /cannot have num_replicas 3 \(PAYMENT_STREAM_REPLICAS\): the NATS server is not part of a cluster/;
  await expect(ensurePaymentStream(nc, { ...defaults, replicas: 3 })).rejects.toThrow(refusal);
  expect((await jsm.streams.info(PAYMENT_STREAM)).config.num_replicas).toBe(1);
  await jsm.streams.delete(PAYMENT_STREAM);
  await expect(ensurePaymentStream(nc, { ...defaults, replicas: 3 })).rejects.toThrow(refusal);
});

it('updates a durable consumer whose subject or ack wait differ, and names a policy it cannot change', async () => {
  await ensurePaymentStream(nc, defaults);
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
