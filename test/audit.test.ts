import { randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager, AckPolicy, DeliverPolicy, StorageType } from '@nats-io/jetstream';
import { sql } from 'slonik';
import { createDeadLettersRepository } from '../src/db/dead-letters-repository';
import { connectNats } from '../src/nats/connection';
import { encodeEvent } from '../src/nats/nest-transport';
import { PAYMENT_STREAM } from '../src/nats/payment-stream';
import { PAYMENT_SUCCEEDED_SUBJECT } from '../src/nats/subjects';
import { eventually } from './support/eventually';
import { startPrivateNats } from './support/private-nats';
import { runScript } from './support/run-command';
import { startTestSystem, type TestSystem } from './support/system';

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem();
});

afterAll(async () => {
  await system?.stop();
});

/** `npm run audit` as an operator runs it, against this test run's services. */
async function audit(
  args: string[] = ['--grace-ms=3000'],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; output: string }> {
  const { code, stdout, stderr } = await runScript('src/scripts/audit.ts', { args, env });
  return { code, output: code === 0 ? stdout : `${stdout}${stderr}` };
}

/** Resolves the dead letters this file planted, as an operator does, with the audit's own command. */
async function resolveDeadLetters(marker: string): Promise<number> {
  const letters = (await createDeadLettersRepository(system.pool).list(1000)).filter(
    (letter) => letter.body.includes(marker) && letter.resolvedAt === null,
  );
  for (const letter of letters) {
    const resolved = await audit([`--resolve-dead-letter=${letter.id}`, '--resolution=test payment for no order']);
    expect(resolved).toMatchObject({ code: 0, output: `dead letter ${letter.id} resolved\n` });
  }
  return letters.length;
}

it('reports zero discrepancies after orders are placed, paid and delivered, and flags a planted one', async () => {
  const product = await system.nest.send<{ id: number }>('products.create', { name: 'Audited', price: 5 });
  const { order } = await system.client.place([{ productId: product.id, quantity: 1 }]);
  await system.client.pay(order.id);
  await system.client.waitForStatus(order.id, 'PAID');
  await system.client.changeStatus(order.id, 'DELIVERED');
  const nobody = randomUUID();
  await system.client.pay(nobody);

  // A payment for no order is a dead letter: reported until an operator resolves it.
  const unresolved = await eventually(
    async () => {
      const result = await audit();
      expect(result.output).toMatch(/unresolved: [1-9]/);
      return result;
    },
    30_000,
    1_000,
  );
  expect(unresolved.code).toBe(1);
  expect(unresolved.output).toContain(`is unresolved: no order ${nobody}`);
  await expect(resolveDeadLetters(nobody)).resolves.toBe(1);

  const clean = await eventually(
    async () => {
      const result = await audit();
      expect(result.output).toContain('OK: no discrepancies');
      return result;
    },
    30_000,
    1_000,
  );
  expect(clean.code).toBe(0);
  expect(clean.output).toMatch(
    /missing: 0\nduplicate: 0\nstuck: 0\nmismatched: 0\nunrefunded: 0\nunresolved: 0\ndropped: 0/,
  );

  // An order row that no workflow owns, as if written behind the service's back.
  const planted = randomUUID();
  await system.pool.query(sql.unsafe`
    INSERT INTO orders (id, total_cents, total_items, currency, created_at)
    VALUES (${planted}, 100, 1, 'usd', now() - interval '1 hour')`);
  try {
    const broken = await audit();
    expect(broken.code).toBe(1);
    expect(broken.output).toContain(`order ${planted} has no workflow`);
    expect(broken.output).toContain('FAILED: 1 discrepancies');
  } finally {
    await system.pool.query(sql.unsafe`DELETE FROM orders WHERE id = ${planted}`);
  }
});

it('reports a refund owed and not done until it is done', async () => {
  const orderId = randomUUID();
  const stripePaymentId = `pi_${randomUUID().replace(/-/g, '')}`;
  await system.pool.query(sql.unsafe`
    INSERT INTO orders (id, total_cents, total_items, currency, status) VALUES (${orderId}, 100, 1, 'usd', 'CANCELLED')`);
  await system.pool.query(sql.unsafe`
    INSERT INTO payments (stripe_payment_id, order_id, outcome, received_at)
    VALUES (${stripePaymentId}, ${orderId}, 'REFUND_REQUESTED', now() - interval '1 hour')`);
  try {
    const never = await audit();
    expect(never.code).toBe(1);
    expect(never.output).toContain(
      `payment ${stripePaymentId} of order ${orderId} is REFUND_REQUESTED and no refund is recorded`,
    );

    await system.pool.query(sql.unsafe`
      INSERT INTO refunds (stripe_payment_id, order_id, reason, status, failure, settled_at)
      VALUES (${stripePaymentId}, ${orderId}, 'test', 'failed', 'charge_disputed: disputed', now())`);
    const failed = await audit();
    expect(failed.code).toBe(1);
    expect(failed.output).toContain(
      `refund of ${stripePaymentId} for order ${orderId} failed: charge_disputed: disputed`,
    );
    expect(failed.output).toContain('unrefunded: 1\n');

    await system.pool.query(sql.unsafe`
      UPDATE refunds SET status = 'done', failure = NULL, stripe_refund_id = 're_1' WHERE stripe_payment_id = ${stripePaymentId}`);
    const done = await audit();
    expect(done.output).toContain('unrefunded: 0\n');
  } finally {
    await system.pool.query(sql.unsafe`DELETE FROM refunds WHERE order_id = ${orderId}`);
    await system.pool.query(sql.unsafe`DELETE FROM payments WHERE order_id = ${orderId}`);
    await system.pool.query(sql.unsafe`DELETE FROM orders WHERE id = ${orderId}`);
  }
});

it('reports payment events the stream dropped before its consumer handled them, and how many', async () => {
  // A NATS of its own, whose PAYMENTS stream keeps 3 messages, with the consumer stopped.
  const server = await startPrivateNats();
  const nats = await connectNats({ ...system.config.nats, url: server.url }, 'audit-dropped-test');
  try {
    const jsm = await jetstreamManager(nats);
    await jsm.streams.add({
      name: PAYMENT_STREAM,
      subjects: [PAYMENT_SUCCEEDED_SUBJECT],
      storage: StorageType.File,
      max_msgs: 3,
    });
    await jsm.consumers.add(PAYMENT_STREAM, {
      durable_name: 'orders-payment-succeeded',
      filter_subject: PAYMENT_SUCCEEDED_SUBJECT,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
    });
    const js = jetstream(nats);
    for (let i = 0; i < 8; i += 1) {
      await js.publish(PAYMENT_SUCCEEDED_SUBJECT, encodeEvent(PAYMENT_SUCCEEDED_SUBJECT, { i }));
    }
    const result = await audit(['--grace-ms=3000'], { NATS_URL: server.url });
    expect(result.code).toBe(1);
    // 8 published, the stream keeps #6-#8: #1-#5 were never handled.
    expect(result.output).toContain(
      'stream dropped 5 message(s) (#1-#5) before consumer orders-payment-succeeded handled them',
    );
    expect(result.output).toContain('dropped: 1\n');
  } finally {
    await nats.close();
    await server.stop();
  }
});
