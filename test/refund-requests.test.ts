import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { sql } from 'slonik';
import { createRefundActivities, type RefundRequest } from '../src/activities/payments';
import { parseConfig } from '../src/config';
import { closeDatabasePool, createDatabasePool, type DatabasePool } from '../src/db/pool';
import { createRefundsRepository } from '../src/db/refunds-repository';
import { connectNats } from '../src/nats/connection';
import { ensurePaymentStream, PAYMENT_STREAM } from '../src/nats/payment-stream';
import { REFUND_REQUESTED_SUBJECT } from '../src/nats/subjects';
import { isSignedRefundRequest } from '../src/security/refund-signature';
import { startPrivateNats, type PrivateNats } from './support/private-nats';

/**
 * `requestRefund` records the refund owed in `refunds`, then stores the signed
 * `payment.refund.requested` in the PAYMENTS stream (the payments service refunds from there), or
 * fails so the workflow's retry policy tries again: a request is never lost.
 */

const config = parseConfig(process.env);
let server: PrivateNats;
let nats: NatsConnection;
let jsm: JetStreamManager;
let pool: DatabasePool;
let activities: ReturnType<typeof createRefundActivities>;
const orderIds: string[] = [];

beforeAll(async () => {
  // The stream is deleted here, so on a server of this file's own.
  server = await startPrivateNats();
  nats = await connectNats({ ...config.nats, url: server.url }, 'refund-requests-test');
  jsm = await jetstreamManager(nats);
  pool = await createDatabasePool(config.databaseUrl);
  activities = createRefundActivities({
    nats: nats,
    refunds: createRefundsRepository(pool),
    signingKey: config.refunds.signingKey,
    requestTimeoutMs: 2_000,
  });
});

afterAll(async () => {
  // The rows are this file's own: gone, they leave nothing owed for the run's final audit.
  if (pool && orderIds.length > 0) {
    await pool.query(sql.unsafe`DELETE FROM refunds WHERE order_id = ANY(${sql.array(orderIds, 'uuid')})`);
    await pool.query(sql.unsafe`DELETE FROM payments WHERE order_id = ANY(${sql.array(orderIds, 'uuid')})`);
    await pool.query(sql.unsafe`DELETE FROM orders WHERE id = ANY(${sql.array(orderIds, 'uuid')})`);
  }
  if (pool) await closeDatabasePool(pool);
  await nats?.close();
  await server?.stop();
});

/** A CANCELLED order with a payment recorded for refund, as the workflow leaves it. */
async function recordedPayment(): Promise<RefundRequest> {
  const request = {
    orderId: randomUUID(),
    stripePaymentId: `pi_${randomUUID().replace(/-/g, '')}`,
    reason: 'payment received for a CANCELLED order',
  };
  orderIds.push(request.orderId);
  await pool.query(sql.unsafe`
    INSERT INTO orders (id, total_cents, total_items, currency, status)
    VALUES (${request.orderId}, 1000, 1, 'usd', 'CANCELLED')`);
  await pool.query(sql.unsafe`
    INSERT INTO payments (stripe_payment_id, order_id, outcome)
    VALUES (${request.stripePaymentId}, ${request.orderId}, 'REFUND_REQUESTED')`);
  return request;
}

const refundRequest = recordedPayment;

const refundRow = (stripePaymentId: string) =>
  pool.maybeOne(sql.unsafe`
    SELECT order_id, reason, status, settled_at FROM refunds WHERE stripe_payment_id = ${stripePaymentId}`);

/** The refund requests the stream holds for one payment, with their message ids. */
async function storedRequests(stripePaymentId: string): Promise<Array<{ msgId: string | undefined; body: unknown }>> {
  const { state } = await jsm.streams.info(PAYMENT_STREAM);
  const found = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq += 1) {
    const stored = await jsm.streams.getMessage(PAYMENT_STREAM, { seq }).catch(() => null);
    if (stored === null || stored.subject !== REFUND_REQUESTED_SUBJECT) continue;
    const body = stored.json<{ data: RefundRequest }>();
    if (body.data.stripePaymentId === stripePaymentId) found.push({ msgId: stored.header?.get('Nats-Msg-Id'), body });
  }
  return found;
}

it('fails while the stream is missing, and stores the request once the stream is back', async () => {
  await jsm.streams.delete(PAYMENT_STREAM).catch(() => false);
  const request = await refundRequest();
  await expect(activities.requestRefund(request)).rejects.toMatchObject({
    type: 'ServiceUnavailable',
    nonRetryable: false,
    message: expect.stringContaining(
      `Refund request for ${request.stripePaymentId} not stored in JetStream stream PAYMENTS`,
    ),
  });

  await ensurePaymentStream(nats, config.paymentStream);
  await expect(activities.requestRefund(request)).resolves.toBe(true);
  const stored = await storedRequests(request.stripePaymentId);
  expect(stored).toEqual([
    {
      msgId: `refund-${request.stripePaymentId}`,
      body: { pattern: REFUND_REQUESTED_SUBJECT, data: { ...request, signature: expect.any(String) } },
    },
  ]);
  // Signed with REFUND_SIGNING_KEY, over exactly these fields.
  const { signature, ...fields } = (stored[0]?.body as { data: RefundRequest & { signature: string } }).data;
  expect(isSignedRefundRequest(fields, signature, config.refunds.signingKey)).toBe(true);
  expect(isSignedRefundRequest({ ...fields, orderId: randomUUID() }, signature, config.refunds.signingKey)).toBe(false);
  expect(isSignedRefundRequest(fields, signature, 'another key of at least thirty-two characters')).toBe(false);
});

it('records the refund owed as requested, once, before it publishes', async () => {
  await ensurePaymentStream(nats, config.paymentStream);
  const request = await refundRequest();
  await jsm.streams.delete(PAYMENT_STREAM);
  // The publish fails, the row is there already: the audit sees the refund owed.
  await expect(activities.requestRefund(request)).rejects.toMatchObject({ type: 'ServiceUnavailable' });
  await expect(refundRow(request.stripePaymentId)).resolves.toEqual({
    order_id: request.orderId,
    reason: request.reason,
    status: 'requested',
    settled_at: null,
  });
  await ensurePaymentStream(nats, config.paymentStream);
  await activities.requestRefund(request);
  await expect(
    pool.oneFirst(sql.unsafe`
    SELECT count(*)::int FROM refunds WHERE stripe_payment_id = ${request.stripePaymentId}`),
  ).resolves.toBe(1);
});

it('refuses a refund of a payment not recorded against the order (false, never retried), and publishes nothing', async () => {
  await ensurePaymentStream(nats, config.paymentStream);
  const own = await refundRequest();
  const other = await refundRequest();
  // Order `own` asks for the refund of the payment recorded on order `other`.
  await expect(activities.requestRefund({ ...own, stripePaymentId: other.stripePaymentId })).resolves.toBe(false);
  await expect(refundRow(other.stripePaymentId)).resolves.toBeNull();
  await expect(storedRequests(other.stripePaymentId)).resolves.toEqual([]);
});

it('stores a retried request once (message id per payment, within the duplicate window)', async () => {
  await ensurePaymentStream(nats, config.paymentStream);
  const request = await refundRequest();
  await activities.requestRefund(request);
  await activities.requestRefund(request);
  await activities.requestRefund({ ...request, reason: 'order cancelled after payment' });
  await expect(storedRequests(request.stripePaymentId)).resolves.toHaveLength(1);
});
