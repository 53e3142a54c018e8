import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';

/**
 * Stripe events built and signed locally, exactly as Stripe would send them to the webhook; used
 * by `npm run pay` to complete a checkout offline and by the tests.
 */

export interface TestEvent {
  id: string;
  object: 'event';
  api_version: string;
  created: number;
  /** false: a test-mode event, as these are; true only to check how a live event is treated. */
  livemode: boolean;
  pending_webhooks: number;
  request: { id: null; idempotency_key: null };
  type: string;
  data: { object: Record<string, unknown> };
}

const randomId = (prefix: string): string => `${prefix}_${randomBytes(12).toString('hex')}`;

function event(type: string, object: Record<string, unknown>): TestEvent {
  return {
    id: randomId('evt'),
    object: 'event',
    api_version: '2026-09-30.endive',
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object },
  };
}

export interface CheckoutEventOptions {
  /** Absent: the session carries no order id (Stripe events from elsewhere look like this). */
  orderId?: string;
  paymentIntentId?: string;
  paymentStatus?: 'paid' | 'unpaid' | 'no_payment_required';
  type?: 'checkout.session.completed' | 'checkout.session.async_payment_succeeded';
}

/** A completed (by default paid) Checkout session for `orderId`, with a fresh payment intent id. */
export function checkoutSessionEvent(options: CheckoutEventOptions): TestEvent {
  return event(options.type ?? 'checkout.session.completed', {
    id: randomId('cs_test'),
    object: 'checkout.session',
    mode: 'payment',
    status: 'complete',
    payment_status: options.paymentStatus ?? 'paid',
    payment_intent: options.paymentIntentId ?? randomId('pi'),
    currency: 'usd',
    livemode: false,
    metadata: options.orderId === undefined ? {} : { orderId: options.orderId },
  });
}

/** A succeeded charge for `orderId` with a receipt URL. */
export function chargeSucceededEvent(options: { orderId?: string; paymentIntentId?: string | null }): TestEvent {
  const chargeId = randomId('ch');
  return event('charge.succeeded', {
    id: chargeId,
    object: 'charge',
    paid: true,
    status: 'succeeded',
    currency: 'usd',
    livemode: false,
    payment_intent: options.paymentIntentId === undefined ? randomId('pi') : options.paymentIntentId,
    receipt_url: `https://pay.stripe.com/receipts/payment/${chargeId}`,
    metadata: options.orderId === undefined ? {} : { orderId: options.orderId },
  });
}

/** Any other event type, e.g. `customer.created`. */
export function otherEvent(type: string, object: Record<string, unknown> = { id: randomId('obj') }): TestEvent {
  return event(type, object);
}

export interface SignedWebhook {
  body: string;
  signature: string;
}

/** Serialises and signs an event; `timestamp` (Unix seconds) defaults to now. */
export function signEvent(value: TestEvent, secret: string, timestamp?: number): SignedWebhook {
  const body = JSON.stringify(value);
  const signature = Stripe.webhooks.generateTestHeaderString({
    payload: body,
    secret,
    ...(timestamp === undefined ? {} : { timestamp }),
  });
  return { body, signature };
}

export interface WebhookAnswer {
  status: number;
  body: unknown;
}

/** POSTs a signed webhook to the payments service as Stripe does and returns its answer. */
export async function postWebhook(webhookUrl: string, webhook: SignedWebhook): Promise<WebhookAnswer> {
  const response = await fetch(webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': webhook.signature },
    body: webhook.body,
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: keep the text as it is.
  }
  return { status: response.status, body };
}

export const webhookUrl = (paymentsUrl: string): string => `${paymentsUrl.replace(/\/+$/, '')}/payments/webhook`;
