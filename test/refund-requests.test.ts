import { randomUUID } from 'node:crypto';
import type { JetStreamManager, NatsConnection } from 'nats';
import { createPaymentActivities, type RefundRequest } from '../src/activities/payments';
import { parseConfig } from '../src/config';
import { connectNats } from '../src/nats/connection';
import { ensurePaymentStream, PAYMENT_STREAM } from '../src/nats/payment-stream';
import { REFUND_REQUESTED_SUBJECT } from '../src/nats/subjects';
import { startPrivateNats, type PrivateNats } from './support/private-nats';

/**
 * `requestRefund` stores `payment.refund.requested` in the PAYMENTS stream (the payments service
 * refunds from there), or fails so the workflow's retry policy tries again: a request is never lost.
 */

const config = parseConfig(process.env);
let server: PrivateNats;
let nc: NatsConnection;
let jsm: JetStreamManager;
let activities: ReturnType<typeof createPaymentActivities>;

beforeAll(async () => {
  // The stream is deleted here, so on a server of this file's own.
  server = await startPrivateNats();
  nc = await connectNats({ ...config.nats, url: server.url }, 'refund-requests-test');
  jsm = await nc.jetstreamManager();
  activities = createPaymentActivities({
    nats: nc,
    createPaymentSessionSubject: config.subjects.createPaymentSession,
    expirePaymentSessionSubject: config.subjects.expirePaymentSession,
    identifyPaymentsSubject: config.subjects.identifyPayments,
    requestTimeoutMs: 2_000,
  });
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

const refundRequest = (): RefundRequest => ({
  orderId: randomUUID(),
  stripePaymentId: `pi_${randomUUID().replace(/-/g, '')}`,
  reason: 'payment received for a CANCELLED order',
});

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
  const request = refundRequest();
  await expect(activities.requestRefund(request)).rejects.toMatchObject({
    type: 'ServiceUnavailable',
    nonRetryable: false,
    message: expect.stringContaining(
      `Refund request for ${request.stripePaymentId} not stored in JetStream stream PAYMENTS`,
    ),
  });

  await ensurePaymentStream(nc, config.paymentStream);
  await expect(activities.requestRefund(request)).resolves.toBeUndefined();
  await expect(storedRequests(request.stripePaymentId)).resolves.toEqual([
    { msgId: `refund-${request.stripePaymentId}`, body: { pattern: REFUND_REQUESTED_SUBJECT, data: request } },
  ]);
});

it('stores a retried request once (message id per payment, within the duplicate window)', async () => {
  await ensurePaymentStream(nc, config.paymentStream);
  const request = refundRequest();
  await activities.requestRefund(request);
  await activities.requestRefund(request);
  await activities.requestRefund({ ...request, reason: 'order cancelled after payment' });
  await expect(storedRequests(request.stripePaymentId)).resolves.toHaveLength(1);
});
