import { randomUUID } from 'node:crypto';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { createDeadLettersRepository } from '../src/db/dead-letters-repository';
import { PAYMENT_CONSUMER } from '../src/gateway/payment-subscriber';
import { PAYMENT_STREAM } from '../src/nats/payment-stream';
import { eventually } from './support/eventually';
import { startPrivateNats, type PrivateNats } from './support/private-nats';
import { startTestSystem, type TestSystem } from './support/system';

/**
 * A dead letter is kept once per stream message, and a stream created again (its sequences start
 * at 1 again) does not make new dead letters look like ones already kept. On a NATS server of this
 * file's own, since the test deletes the PAYMENTS stream.
 */

let server: PrivateNats;
let system: TestSystem;
let jsm: JetStreamManager;

beforeAll(async () => {
  server = await startPrivateNats();
  system = await startTestSystem({ NATS_URL: server.url });
  jsm = await jetstreamManager(system.nats);
});

afterAll(async () => {
  // The audit at the end of the run reports unresolved dead letters: these were made on purpose.
  if (system) {
    const deadLetters = createDeadLettersRepository(system.pool);
    for (const letter of await deadLetters.list(1000)) {
      if ([...madeHere].some((marker) => letter.body.includes(marker)) && letter.resolvedAt === null) {
        await deadLetters.resolve(letter.id, 'test/dead-letters.test.ts: made on purpose');
      }
    }
  }
  await system?.stop();
  await server?.stop();
});

/** Payment ids of the dead letters this file makes. */
const madeHere = new Set<string>();

const unknownOrderPayment = () => {
  const stripePaymentId = `pi_${randomUUID().replace(/-/g, '')}`;
  madeHere.add(stripePaymentId);
  return { stripePaymentId, orderId: randomUUID(), receiptUrl: null };
};

async function deadLetterOf(stripePaymentId: string) {
  const deadLetters = createDeadLettersRepository(system.pool);
  return eventually(async () => {
    const found = (await deadLetters.list()).find((letter) => letter.body.includes(stripePaymentId));
    expect(found).toBeDefined();
    return found as NonNullable<typeof found>;
  });
}

it('keeps a new dead letter after the stream is created again and its sequences restart', async () => {
  const first = unknownOrderPayment();
  await system.nest.emit('payment.succeeded', first);
  const kept = await deadLetterOf(first.stripePaymentId);
  const { state } = await jsm.streams.info(PAYMENT_STREAM);
  expect(kept.streamSeq).toBe(state.last_seq);

  await jsm.streams.delete(PAYMENT_STREAM);
  // The gateway's consume loop creates the stream and its consumer again.
  await eventually(() => jsm.consumers.info(PAYMENT_STREAM, PAYMENT_CONSUMER), 45_000);

  const second = unknownOrderPayment();
  await system.nest.emit('payment.succeeded', second);
  const keptAgain = await deadLetterOf(second.stripePaymentId);
  // The same sequence number as the first one's, in the stream created again.
  expect(keptAgain.streamSeq).toBe(kept.streamSeq);
  expect(keptAgain.reason).toBe(`no order ${second.orderId}`);
  expect((await deadLetterOf(first.stripePaymentId)).id).toBe(kept.id);
});

it('keeps a redelivered dead letter once', async () => {
  const deadLetters = createDeadLettersRepository(system.pool);
  const letter = {
    subject: 'payment.succeeded',
    streamSeq: 987_654,
    reason: 'no order x',
    body: JSON.stringify(unknownOrderPayment()),
  };
  await deadLetters.add(letter);
  await deadLetters.add(letter);
  // Another message under the same sequence (another stream's) is another dead letter.
  const other = { ...letter, body: JSON.stringify(unknownOrderPayment()) };
  await deadLetters.add(other);
  const kept = (await deadLetters.list(1000)).filter((entry) => entry.streamSeq === letter.streamSeq);
  expect(kept.map((entry) => entry.body).sort()).toEqual([letter.body, other.body].sort());
});
