import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import pino from 'pino';
import Stripe from 'stripe';
import { parseConfig, type Config } from '../src/config';
import { connectNats } from '../src/nats/connection';
import { startPrivateNats, type PrivateNats } from './support/private-nats';
import { MAX_REQUEST_BYTES, requestPeer } from '../src/nats/nest-transport';
import { RpcError } from '../src/rpc-error';
import { PAYMENT_STREAM } from '../src/nats/payment-stream';
import { PAYMENT_SUCCEEDED_SUBJECT } from '../src/nats/subjects';
import { createPaymentSessionHandler, toRpcErrorFromStripe } from '../src/payments/create-session';
import { startPaymentsService, type PaymentsService } from '../src/payments/service';
import { createStripeClient } from '../src/payments/stripe-client';
import {
  chargeSucceededEvent,
  checkoutSessionEvent,
  otherEvent,
  postWebhook,
  signEvent,
  webhookUrl,
  type TestEvent,
} from '../src/payments/test-events';
import { createWebhookHandler, stripeKeyMode } from '../src/payments/webhook';
import { listen, startRecordingProxy, type RecordedRequest } from './support/recording-proxy';
import { runScript } from './support/run-command';

/** The payments companion against real NATS/JetStream and stripe-mock. */

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let config: Config;
let nats: NatsConnection;
let jsm: JetStreamManager;
let proxy: Awaited<ReturnType<typeof startRecordingProxy>>;
let service: PaymentsService;
const logLines: string[] = [];

// The webhook stores payment.succeeded for orders that exist nowhere: on a NATS server of this
// file's own, so no gateway of a later test file consumes them as dead letters.
let server: PrivateNats;

beforeAll(async () => {
  server = await startPrivateNats();
  config = parseConfig({ ...process.env, NATS_URL: server.url });
  nats = await connectNats(config.nats, 'payments-test');
  jsm = await jetstreamManager(nats);
  proxy = await startRecordingProxy(config.stripe.apiBase);
  service = await startPaymentsService({
    nats,
    stripe: createStripeClient({ ...config.stripe, apiBase: proxy.url }),
    // Every line the service logs is kept, to check that no secret ever reaches the logs.
    logger: pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) }),
    config: { ...config, payments: { ...config.payments, httpPort: 0 } },
  });
});

afterAll(async () => {
  await service?.stop();
  await proxy?.close();
  await nats?.drain();
  await server?.stop();
});

const post = (value: TestEvent, options: { secret?: string; timestamp?: number } = {}) =>
  postWebhook(
    webhookUrl(service.url),
    signEvent(value, options.secret ?? config.stripe.webhookSecret, options.timestamp),
  );

interface StoredPayment {
  msgId: string | undefined;
  body: { pattern: string; data: { stripePaymentId: string; orderId: string; receiptUrl: string | null } };
}

/** The `payment.succeeded` messages the stream holds for one order (every test uses its own order id). */
async function storedPayments(orderId: string): Promise<StoredPayment[]> {
  const { state } = await jsm.streams.info(PAYMENT_STREAM);
  const found: StoredPayment[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq += 1) {
    const stored = await jsm.streams.getMessage(PAYMENT_STREAM, { seq }).catch(() => null);
    if (stored === null || stored.subject !== PAYMENT_SUCCEEDED_SUBJECT) continue;
    const body = stored.json<StoredPayment['body']>();
    if (body?.data?.orderId === orderId) found.push({ msgId: stored.header?.get('Nats-Msg-Id'), body });
  }
  return found;
}

const paymentIntentOf = (value: TestEvent): string => value.data.object.payment_intent as string;

/**
 * Proves nothing was stored for `orderId` by a refused event: a valid event for the same order,
 * sent afterwards, must be the only message (the stream keeps publish order, so no sleep is needed).
 */
async function expectOnlyFollowUpStored(orderId: string): Promise<void> {
  const followUp = checkoutSessionEvent({ orderId });
  await expect(post(followUp)).resolves.toEqual({ status: 200, body: { received: true } });
  const stored = await storedPayments(orderId);
  expect(stored.map((message) => message.body.data.stripePaymentId)).toEqual([paymentIntentOf(followUp)]);
}

describe('create.payment.session', () => {
  const request = <T>(data: unknown): Promise<T> =>
    requestPeer<T>(nats, config.subjects.createPaymentSession, data, config.nats.requestTimeoutMs);

  it('creates a Stripe Checkout session for the order and returns its URLs', async () => {
    const orderId = randomUUID();
    const session = await request<Record<string, unknown>>({
      orderId,
      currency: 'USD',
      items: [
        { name: 'Desk lamp', price: 19.99, quantity: 2 },
        // 10.05 * 100 is 1004.9999999999999: truncating would charge a cent less.
        { name: 'Cable', price: 10.05, quantity: 1 },
      ],
    });
    expect(session).toEqual({
      url: expect.stringMatching(/^https:\/\/checkout\.stripe\.com\//),
      successUrl: `${config.payments.publicUrl}/payments/success`,
      cancelUrl: `${config.payments.publicUrl}/payments/cancel`,
      sessionId: expect.stringMatching(/^cs_/),
    });

    const sent = proxy.requests.filter((recorded) => recorded.path === '/v1/checkout/sessions');
    const mine = sent.filter((recorded) => new URLSearchParams(recorded.body).get('metadata[orderId]') === orderId);
    expect(mine).toHaveLength(1);
    const [call] = mine as [RecordedRequest];
    expect(call.method).toBe('POST');
    expect(call.headers['idempotency-key']).toBe(`checkout-session-${orderId}`);
    expect(Object.fromEntries(new URLSearchParams(call.body))).toEqual({
      mode: 'payment',
      'line_items[0][price_data][currency]': 'usd',
      'line_items[0][price_data][product_data][name]': 'Desk lamp',
      'line_items[0][price_data][unit_amount]': '1999',
      'line_items[0][quantity]': '2',
      'line_items[1][price_data][currency]': 'usd',
      'line_items[1][price_data][product_data][name]': 'Cable',
      'line_items[1][price_data][unit_amount]': '1005',
      'line_items[1][quantity]': '1',
      'metadata[orderId]': orderId,
      'payment_intent_data[metadata][orderId]': orderId,
      // The order's own currency and amount, never a converted one (which would not be the order's).
      'adaptive_pricing[enabled]': 'false',
      success_url: `${config.payments.publicUrl}/payments/success`,
      cancel_url: `${config.payments.publicUrl}/payments/cancel`,
    });
  });

  it('refuses a bad payload with one line per problem, naming the field', async () => {
    const refused = await request({
      orderId: '',
      currency: 'dollars',
      items: [{ name: 'Pen', price: -1, quantity: 0 }],
    }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RpcError);
    expect((refused as RpcError).toBody()).toMatchObject({
      status: 400,
      message: [
        'orderId must not be empty',
        'currency must be a three-letter ISO currency code',
        'items.0.price must not be negative',
        'items.0.quantity must be at least 1',
      ],
    });
    const empty = await request({ orderId: randomUUID(), currency: 'usd', items: [] }).catch((error: unknown) => error);
    expect((empty as RpcError).toBody()).toMatchObject({ status: 400, message: ['items must hold at least one item'] });
  });

  it('answers 503 when Stripe cannot be reached', async () => {
    const handler = createPaymentSessionHandler({
      stripe: createStripeClient({ ...config.stripe, apiBase: `http://127.0.0.1:${await closedPort()}` }),
      publicUrl: config.payments.publicUrl,
      logger: pino({ level: 'silent' }),
    });
    const failure = await handler({
      orderId: randomUUID(),
      currency: 'usd',
      items: [{ name: 'Pen', price: 1, quantity: 1 }],
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RpcError);
    expect((failure as RpcError).status).toBe(503);
  });

  it('maps a request Stripe refuses to 400 and a Stripe outage to 503', () => {
    const logger = pino({ level: 'silent' });
    const invalid = new Stripe.errors.StripeInvalidRequestError({
      message: 'Invalid currency: xyz',
      type: 'invalid_request_error',
    });
    expect(toRpcErrorFromStripe(invalid, logger, 'o-1').toBody()).toEqual({
      status: 400,
      message: 'Payment provider refused the session: Invalid currency: xyz',
    });
    const outage = new Stripe.errors.StripeAPIError({ message: 'Internal error', type: 'api_error' });
    expect(toRpcErrorFromStripe(outage, logger, 'o-1').status).toBe(503);
  });
});

describe('POST /payments/webhook', () => {
  it('stores a signed checkout.session.completed as one payment.succeeded in the NestJS envelope', async () => {
    const orderId = randomUUID();
    const event = checkoutSessionEvent({ orderId });
    await expect(post(event)).resolves.toEqual({ status: 200, body: { received: true } });

    // The 200 came after JetStream's acknowledgement: the message is already there.
    await expect(storedPayments(orderId)).resolves.toEqual([
      {
        msgId: event.id,
        body: {
          pattern: 'payment.succeeded',
          data: { stripePaymentId: paymentIntentOf(event), orderId, receiptUrl: null },
        },
      },
    ]);
  });

  it('stores an event delivered twice only once (Stripe event id as message id)', async () => {
    const orderId = randomUUID();
    const event = checkoutSessionEvent({ orderId });
    const signed = signEvent(event, config.stripe.webhookSecret);
    await expect(postWebhook(webhookUrl(service.url), signed)).resolves.toEqual({
      status: 200,
      body: { received: true },
    });
    await expect(postWebhook(webhookUrl(service.url), signed)).resolves.toEqual({
      status: 200,
      body: { received: true, duplicate: true },
    });
    // Stripe signs each retry anew.
    await expect(post(event, { timestamp: Math.floor(Date.now() / 1000) - 5 })).resolves.toMatchObject({ status: 200 });
    await expect(storedPayments(orderId)).resolves.toHaveLength(1);
  });

  it('refuses forged events with 400 and stores nothing', async () => {
    const orderId = randomUUID();
    await expect(post(checkoutSessionEvent({ orderId }), { secret: 'whsec_someone_else' })).resolves.toEqual({
      status: 400,
      body: { error: 'Webhook refused: signature does not match' },
    });

    // A genuine signature over another body.
    const genuine = signEvent(checkoutSessionEvent({ orderId: randomUUID() }), config.stripe.webhookSecret);
    const tampered = {
      body: genuine.body.replace(/"orderId":"[^"]+"/, `"orderId":"${orderId}"`),
      signature: genuine.signature,
    };
    expect(tampered.body).toContain(orderId);
    await expect(postWebhook(webhookUrl(service.url), tampered)).resolves.toMatchObject({ status: 400 });

    const unsigned = await fetch(webhookUrl(service.url), { method: 'POST', body: genuine.body });
    expect(unsigned.status).toBe(400);
    await expect(unsigned.json()).resolves.toEqual({ error: 'Missing stripe-signature header' });

    await expectOnlyFollowUpStored(orderId);
  });

  it('refuses events signed longer ago than the tolerance, and accepts them within it', async () => {
    const orderId = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    const tolerance = config.stripe.webhookToleranceSeconds;
    await expect(post(checkoutSessionEvent({ orderId }), { timestamp: now - tolerance - 30 })).resolves.toEqual({
      status: 400,
      body: { error: 'Webhook refused: timestamp outside the tolerance' },
    });
    await expectOnlyFollowUpStored(orderId);

    const recent = checkoutSessionEvent({ orderId: randomUUID() });
    await expect(post(recent, { timestamp: now - tolerance + 30 })).resolves.toEqual({
      status: 200,
      body: { received: true },
    });
  });

  it('answers 200 to events it does not handle and publishes nothing for them', async () => {
    const orderId = randomUUID();
    const ignored = { status: 200, body: { received: true, ignored: true } };
    await expect(post(otherEvent('customer.created'))).resolves.toEqual(ignored);
    await expect(
      post(otherEvent('payment_intent.payment_failed', { id: 'pi_x', metadata: { orderId } })),
    ).resolves.toEqual(ignored);
    // Paid later by a delayed method: async_payment_succeeded will say so.
    await expect(post(checkoutSessionEvent({ orderId, paymentStatus: 'unpaid' }))).resolves.toEqual(ignored);
    await expectOnlyFollowUpStored(orderId);

    // Not one of our checkouts: no order id to pay.
    await expect(post(checkoutSessionEvent({}))).resolves.toEqual(ignored);
    expect(logLines.some((line) => line.includes('no metadata.orderId'))).toBe(true);
  });

  it('turns async_payment_succeeded and charge.succeeded into payment.succeeded', async () => {
    const asyncOrder = randomUUID();
    const asyncEvent = checkoutSessionEvent({
      orderId: asyncOrder,
      type: 'checkout.session.async_payment_succeeded',
      paymentStatus: 'paid',
    });
    await expect(post(asyncEvent)).resolves.toMatchObject({ status: 200 });
    await expect(storedPayments(asyncOrder)).resolves.toEqual([
      expect.objectContaining({
        body: {
          pattern: 'payment.succeeded',
          data: { stripePaymentId: paymentIntentOf(asyncEvent), orderId: asyncOrder, receiptUrl: null },
        },
      }),
    ]);

    const chargeOrder = randomUUID();
    const charge = chargeSucceededEvent({ orderId: chargeOrder });
    await expect(post(charge)).resolves.toMatchObject({ status: 200 });
    const chargeWithoutIntent = chargeSucceededEvent({ orderId: chargeOrder, paymentIntentId: null });
    await expect(post(chargeWithoutIntent)).resolves.toMatchObject({ status: 200 });
    await expect(storedPayments(chargeOrder)).resolves.toEqual([
      expect.objectContaining({
        body: {
          pattern: 'payment.succeeded',
          data: {
            stripePaymentId: paymentIntentOf(charge),
            orderId: chargeOrder,
            receiptUrl: charge.data.object.receipt_url,
          },
        },
      }),
      expect.objectContaining({
        body: {
          pattern: 'payment.succeeded',
          data: {
            stripePaymentId: chargeWithoutIntent.data.object.id,
            orderId: chargeOrder,
            receiptUrl: chargeWithoutIntent.data.object.receipt_url,
          },
        },
      }),
    ]);
  });

  it('refuses a body over the size limit with 413', async () => {
    const orderId = randomUUID();
    const event = checkoutSessionEvent({ orderId });
    event.data.object.padding = 'x'.repeat(MAX_REQUEST_BYTES);
    const answer = await post(event);
    expect(answer.status).toBe(413);
    await expectOnlyFollowUpStored(orderId);
  });

  it('answers 503 when JetStream cannot store the event, so Stripe retries', async () => {
    const closed = await connectNats(config.nats, 'payments-test-closed');
    await closed.close();
    const logger = pino({ level: 'silent' });
    const handler = createWebhookHandler({
      stripe: createStripeClient(config.stripe),
      js: jetstream(closed),
      webhookSecret: config.stripe.webhookSecret,
      toleranceSeconds: config.stripe.webhookToleranceSeconds,
      publishTimeoutMs: 1_000,
      keyMode: 'test',
      logger,
    });
    const orderId = randomUUID();
    const signed = signEvent(checkoutSessionEvent({ orderId }), config.stripe.webhookSecret);
    await expect(handler(Buffer.from(signed.body), signed.signature)).resolves.toMatchObject({ status: 503 });
    await expect(storedPayments(orderId)).resolves.toEqual([]);
  });

  it('tells live keys from test keys (secret sk_ or restricted rk_)', () => {
    expect(
      ['sk_live_abc', 'rk_live_abc', 'sk_test_abc', 'rk_test_abc', 'sk_123', 'whatever'].map(stripeKeyMode),
    ).toEqual(['live', 'live', 'test', 'test', undefined, undefined]);
  });

  it('refuses a live-mode event under a test key with 400, logs a warning naming both modes, stores nothing', async () => {
    expect(stripeKeyMode(config.stripe.secretKey)).toBe('test');
    const orderId = randomUUID();
    const live = { ...checkoutSessionEvent({ orderId }), livemode: true };
    await expect(post(live)).resolves.toEqual({
      status: 400,
      body: { error: 'Webhook refused: a live-mode event sent to a test-mode payments service' },
    });
    const warning = logLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((entry) => entry.eventId === live.id);
    expect(warning).toMatchObject({
      level: 40,
      eventMode: 'live',
      keyMode: 'test',
      msg: 'webhook refused: a live-mode event, but STRIPE_SECRET_KEY is a test-mode key',
    });
    await expectOnlyFollowUpStored(orderId);
  });

  it('refuses a test-mode event under a live key with 400 and stores nothing; accepts a live one', async () => {
    const warnings: string[] = [];
    const handler = createWebhookHandler({
      stripe: createStripeClient(config.stripe),
      js: jetstream(nats),
      webhookSecret: config.stripe.webhookSecret,
      toleranceSeconds: config.stripe.webhookToleranceSeconds,
      publishTimeoutMs: config.nats.requestTimeoutMs,
      keyMode: stripeKeyMode('sk_live_not_a_real_key'),
      logger: pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) }),
    });
    const deliver = (value: TestEvent) => {
      const signed = signEvent(value, config.stripe.webhookSecret);
      return handler(Buffer.from(signed.body), signed.signature);
    };
    const orderId = randomUUID();
    await expect(deliver(checkoutSessionEvent({ orderId }))).resolves.toEqual({
      status: 400,
      body: { error: 'Webhook refused: a test-mode event sent to a live-mode payments service' },
    });
    expect(warnings.join('')).toContain('webhook refused: a test-mode event, but STRIPE_SECRET_KEY is a live-mode key');
    await expect(storedPayments(orderId)).resolves.toEqual([]);
    // The same handler stores a live event: only the mismatch is refused.
    const live = { ...checkoutSessionEvent({ orderId }), livemode: true };
    await expect(deliver(live)).resolves.toMatchObject({ status: 200, body: { received: true } });
    await expect(storedPayments(orderId)).resolves.toEqual([
      expect.objectContaining({ msgId: live.id, body: expect.objectContaining({ pattern: 'payment.succeeded' }) }),
    ]);
  });

  it('never logs the webhook secret, the Stripe key or a signature header', async () => {
    const signed = signEvent(checkoutSessionEvent({ orderId: randomUUID() }), 'whsec_forger');
    await postWebhook(webhookUrl(service.url), signed);
    const stale = signEvent(checkoutSessionEvent({ orderId: randomUUID() }), config.stripe.webhookSecret, 1_000_000);
    await postWebhook(webhookUrl(service.url), stale);
    const logs = logLines.join('');
    expect(logs).toContain('webhook refused');
    for (const secret of [config.stripe.webhookSecret, config.stripe.secretKey, signed.signature, stale.signature]) {
      expect(logs).not.toContain(secret);
    }
    for (const value of [signed.signature, stale.signature]) {
      expect(logs).not.toContain(value.split(',v1=')[1]);
    }
  });
});

describe('HTTP pages', () => {
  it.each([
    ['/payments/success', 'Payment received'],
    ['/payments/cancel', 'Payment cancelled'],
  ])('GET %s answers an HTML page', async (pagePath, title) => {
    const response = await fetch(`${service.url}${pagePath}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    await expect(response.text()).resolves.toContain(`<title>${title}</title>`);
  });

  it('answers /health, 404 for unknown paths and 405 for a wrong method', async () => {
    const health = await fetch(`${service.url}/health`);
    expect(health.status).toBe(200);
    await expect(health.json()).resolves.toEqual({ status: 'ok' });
    expect((await fetch(`${service.url}/payments/unknown`)).status).toBe(404);
    const wrongMethod = await fetch(webhookUrl(service.url));
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
  });
});

describe('npm run pay', () => {
  const pay = (args: string[], env: NodeJS.ProcessEnv = {}) => runScript('dev/scripts/pay.ts', { args, env });

  it('completes an order checkout offline with a signed webhook', async () => {
    const orderId = randomUUID();
    const { code, stdout } = await pay([orderId, '--payments-url', service.url]);
    expect(code).toBe(0);
    expect(stdout).toContain('-> 200');
    const paymentId = /payment (pi_\w+)/.exec(stdout)?.[1];
    expect(paymentId).toBeDefined();
    await expect(storedPayments(orderId)).resolves.toEqual([
      expect.objectContaining({
        body: { pattern: 'payment.succeeded', data: { stripePaymentId: paymentId, orderId, receiptUrl: null } },
      }),
    ]);
  });

  it('exits non-zero for a malformed order id or a refused event', async () => {
    await expect(pay(['not-an-order', '--payments-url', service.url])).resolves.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('Not an order id'),
    });
    const forged = pay([randomUUID(), '--payments-url', service.url], {
      STRIPE_WEBHOOK_SECRET: 'whsec_not_the_right_one',
    });
    await expect(forged).resolves.toMatchObject({ code: 1, stdout: expect.stringContaining('-> 400') });
  });

  it('refuses to run with NODE_ENV=production: exit 2, one line, nothing sent', async () => {
    const orderId = randomUUID();
    const refused = await pay([orderId, '--payments-url', service.url], { NODE_ENV: 'production' });
    expect(refused).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'pay: test payments are for local development and refused with NODE_ENV=production: real payments come from Stripe\n',
    });
    await expectOnlyFollowUpStored(orderId);
  });
});
