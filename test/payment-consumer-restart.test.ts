import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import pino from 'pino';
import { PAYMENT_CONSUMER } from '../src/gateway/payment-subscriber';
import { PAYMENT_STREAM } from '../src/nats/payment-stream';
import { REFUND_CONSUMER } from '../src/payments/refund-request-consumer';
import { eventually } from './support/eventually';
import { startPrivateNats, type PrivateNats } from './support/private-nats';
import { startTestSystem, type TestSystem } from './support/system';

/**
 * A consume loop whose consumer or stream disappears under it is logged and restarted: payments
 * are processed again afterwards. The system runs on a NATS server of this file's own, since the
 * test deletes the PAYMENTS stream.
 */

let server: PrivateNats;
let system: TestSystem;
let jsm: JetStreamManager;
let product: { id: number };
const logLines: Array<{ msg: string; durable?: string }> = [];

beforeAll(async () => {
  server = await startPrivateNats();
  const logger = pino({ level: 'warn' }, { write: (line: string) => void logLines.push(JSON.parse(line)) });
  system = await startTestSystem({ NATS_URL: server.url }, { logger });
  jsm = await jetstreamManager(system.nats);
  product = await system.nest.send('products.create', { name: 'Teapot', price: 25 });
});

afterAll(async () => {
  await system?.stop();
  await server?.stop();
});

/** Places an order, publishes its payment as a NestJS peer does, and waits for it to be PAID. */
async function payAnOrder(): Promise<void> {
  const { order } = await system.client.place([{ productId: product.id, quantity: 1 }]);
  await system.client.pay(order.id);
  await system.client.waitForStatus(order.id, 'PAID', 45_000);
}

const logged = (msg: string, durable: string) =>
  logLines.filter((line) => line.msg === msg && line.durable === durable);

it('restarts the gateway’s payment consumer after it is deleted, and says so', async () => {
  await payAnOrder();
  expect(logged('payment stream consumer restarted', PAYMENT_CONSUMER)).toEqual([]);

  await jsm.consumers.delete(PAYMENT_STREAM, PAYMENT_CONSUMER);
  await payAnOrder();
  expect(logged('payment stream consumer stopped; restarting it', PAYMENT_CONSUMER)).toHaveLength(1);
  expect(logged('payment stream consumer restarted', PAYMENT_CONSUMER)).toHaveLength(1);
});

it('restarts every consume loop when the stream is deleted, recreating the stream', async () => {
  const before = logged('payment stream consumer restarted', PAYMENT_CONSUMER).length;
  await jsm.streams.delete(PAYMENT_STREAM);
  // A plain publish before the stream is back would be lost (that is what the stream is for).
  await eventually(async () => {
    await jsm.consumers.info(PAYMENT_STREAM, PAYMENT_CONSUMER);
    expect(logged('payment stream consumer restarted', PAYMENT_CONSUMER).length).toBeGreaterThan(before);
  }, 45_000);
  await payAnOrder();
  // The payments service's refund consumer came back too.
  await eventually(async () => {
    await jsm.consumers.info(PAYMENT_STREAM, REFUND_CONSUMER);
    expect(logged('payment stream consumer restarted', REFUND_CONSUMER).length).toBeGreaterThan(0);
  }, 45_000);
});
