import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stateful stand-in for the few Stripe endpoints the services use beyond Checkout: retrieving a
 * payment intent or a charge, and creating a refund. stripe-mock answers every id with the same
 * fixture and remembers nothing, so it cannot say whose payment an id is, or that a payment was
 * already refunded; this one answers from the payments a test adds, in Stripe's shapes and with
 * Stripe's error bodies. Its `url` is a STRIPE_API_BASE for the `stripe` package
 * (src/payments/stripe-client.ts).
 */

export interface StandInPayment {
  paymentIntent: string;
  charge?: string;
  /** Minor units, as Stripe counts them. */
  amount: number;
  currency: string;
  /** `metadata.orderId` of the payment intent and its charge; null: no such metadata. */
  orderId: string | null;
  /** The payment intent's status; default 'succeeded'. */
  status?: string;
  livemode?: boolean;
}

export interface StandInRefund {
  id: string;
  paymentIntent: string;
  amount: number;
  metadata: Record<string, string>;
  idempotencyKey?: string;
}

export interface StripeStandIn {
  /** http://127.0.0.1:<port> */
  url: string;
  addPayment(payment: StandInPayment): void;
  /** Refunds created, oldest first (a request answered from its idempotency key creates none). */
  refunds(): StandInRefund[];
  /** Every request received, oldest first; `path` without its query string. */
  requests(): Array<{ method: string; path: string }>;
  close(): Promise<void>;
}

interface StoredPayment extends Required<Omit<StandInPayment, 'charge'>> {
  charge: string | null;
  amountRefunded: number;
}

class StripeError {
  constructor(
    readonly status: number,
    readonly body: { type: string; code?: string; message: string; param?: string },
  ) {}
}

const missing = (id: string, param = 'id', kind = 'resource'): StripeError =>
  new StripeError(404, {
    type: 'invalid_request_error',
    code: 'resource_missing',
    message: `No such ${kind}: '${id}'`,
    param,
  });

const stripeId = (prefix: string): string => `${prefix}_${randomBytes(12).toString('hex')}`;

/** Stripe's form encoding: `metadata[orderId]=…` becomes metadata.orderId; `expand[]` a list. */
function readForm(text: string): {
  fields: Record<string, string>;
  metadata: Record<string, string>;
  expand: string[];
} {
  const fields: Record<string, string> = {};
  const metadata: Record<string, string> = {};
  const expand: string[] = [];
  for (const [key, value] of new URLSearchParams(text)) {
    const meta = /^metadata\[(.+)\]$/.exec(key);
    if (meta?.[1] !== undefined) metadata[meta[1]] = value;
    else if (/^expand\[\d*\]$/.test(key)) expand.push(value);
    else fields[key] = value;
  }
  return { fields, metadata, expand };
}

export async function startStripeStandIn(): Promise<StripeStandIn> {
  const payments = new Map<string, StoredPayment>();
  const byCharge = new Map<string, StoredPayment>();
  const refunds: Array<StandInRefund & { charge: string | null; currency: string; created: number }> = [];
  const byIdempotencyKey = new Map<string, { status: number; body: unknown }>();
  const requests: Array<{ method: string; path: string }> = [];

  const metadataOf = (payment: StoredPayment): Record<string, string> =>
    payment.orderId === null ? {} : { orderId: payment.orderId };

  const chargeBody = (payment: StoredPayment, expand: string[]) => ({
    id: payment.charge,
    object: 'charge',
    payment_intent: expand.includes('payment_intent') ? intentBody(payment, []) : payment.paymentIntent,
    amount: payment.amount,
    amount_captured: payment.status === 'succeeded' ? payment.amount : 0,
    amount_refunded: payment.amountRefunded,
    currency: payment.currency,
    status: payment.status === 'succeeded' ? 'succeeded' : 'pending',
    paid: payment.status === 'succeeded',
    captured: payment.status === 'succeeded',
    metadata: metadataOf(payment),
    receipt_url: `https://pay.stripe.com/receipts/payment/${payment.charge}`,
    refunded: payment.amountRefunded >= payment.amount,
    livemode: payment.livemode,
  });

  const intentBody = (payment: StoredPayment, expand: string[]): Record<string, unknown> => ({
    id: payment.paymentIntent,
    object: 'payment_intent',
    amount: payment.amount,
    amount_received: payment.status === 'succeeded' ? payment.amount : 0,
    currency: payment.currency,
    status: payment.status,
    metadata: metadataOf(payment),
    latest_charge:
      payment.charge === null ? null : expand.includes('latest_charge') ? chargeBody(payment, []) : payment.charge,
    livemode: payment.livemode,
  });

  const createRefund = (form: ReturnType<typeof readForm>, idempotencyKey: string | undefined) => {
    const { payment_intent: intentId, charge: chargeId } = form.fields;
    if (intentId === undefined && chargeId === undefined) {
      throw new StripeError(400, {
        type: 'invalid_request_error',
        code: 'parameter_missing',
        message: 'One of the following params should be provided for this request: payment_intent or charge.',
        param: 'payment_intent',
      });
    }
    const payment = intentId !== undefined ? payments.get(intentId) : byCharge.get(chargeId ?? '');
    if (payment === undefined) {
      throw intentId !== undefined
        ? missing(intentId, 'payment_intent', 'payment_intent')
        : missing(chargeId ?? '', 'charge', 'charge');
    }
    if (intentId !== undefined && chargeId !== undefined && payment.charge !== chargeId) {
      throw new StripeError(400, {
        type: 'invalid_request_error',
        message: `Charge ${chargeId} does not belong to PaymentIntent ${intentId}.`,
        param: 'charge',
      });
    }
    if (payment.status !== 'succeeded' || payment.charge === null) {
      throw new StripeError(400, {
        type: 'invalid_request_error',
        code: 'payment_intent_unexpected_state',
        message: `This PaymentIntent (${payment.paymentIntent}) does not have a successful charge to refund.`,
        param: 'payment_intent',
      });
    }
    const remaining = payment.amount - payment.amountRefunded;
    if (remaining <= 0) {
      throw new StripeError(400, {
        type: 'invalid_request_error',
        code: 'charge_already_refunded',
        message: `Charge ${payment.charge} has already been refunded.`,
      });
    }
    const amount = form.fields.amount === undefined ? remaining : Number(form.fields.amount);
    if (!Number.isInteger(amount) || amount <= 0 || amount > remaining) {
      throw new StripeError(400, {
        type: 'invalid_request_error',
        code: 'amount_too_large',
        message: `Refund amount (${form.fields.amount}) is greater than unrefunded amount on charge (${remaining}).`,
        param: 'amount',
      });
    }
    payment.amountRefunded += amount;
    const refund = {
      id: stripeId('re'),
      paymentIntent: payment.paymentIntent,
      charge: payment.charge,
      amount,
      currency: payment.currency,
      metadata: form.metadata,
      created: Math.floor(Date.now() / 1000),
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    };
    refunds.push(refund);
    return {
      id: refund.id,
      object: 'refund',
      amount: refund.amount,
      charge: refund.charge,
      currency: refund.currency,
      created: refund.created,
      metadata: refund.metadata,
      payment_intent: refund.paymentIntent,
      reason: form.fields.reason ?? null,
      status: 'succeeded',
    };
  };

  const route = (method: string, path: string, form: ReturnType<typeof readForm>, idempotencyKey?: string) => {
    const intent = /^\/v1\/payment_intents\/([^/]+)$/.exec(path);
    if (method === 'GET' && intent?.[1] !== undefined) {
      const id = decodeURIComponent(intent[1]);
      const payment = payments.get(id);
      if (payment === undefined) throw missing(id, 'intent', 'payment_intent');
      return intentBody(payment, form.expand);
    }
    const charge = /^\/v1\/charges\/([^/]+)$/.exec(path);
    if (method === 'GET' && charge?.[1] !== undefined) {
      const id = decodeURIComponent(charge[1]);
      const payment = byCharge.get(id);
      if (payment === undefined) throw missing(id, 'id', 'charge');
      return chargeBody(payment, form.expand);
    }
    if (method === 'POST' && path === '/v1/refunds') return createRefund(form, idempotencyKey);
    throw new StripeError(404, {
      type: 'invalid_request_error',
      message:
        `Unrecognized request URL (${method}: ${path}). The Stripe stand-in of the tests serves only ` +
        'GET /v1/payment_intents/:id, GET /v1/charges/:id and POST /v1/refunds.',
    });
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const method = req.method ?? 'GET';
      requests.push({ method, path: url.pathname });
      const form = readForm(method === 'GET' ? url.search.slice(1) : Buffer.concat(chunks).toString('utf8'));
      const header = req.headers['idempotency-key'];
      const idempotencyKey = Array.isArray(header) ? header[0] : header;
      let answer: { status: number; body: unknown };
      const remembered =
        method === 'POST' && idempotencyKey !== undefined ? byIdempotencyKey.get(idempotencyKey) : undefined;
      if (remembered !== undefined) {
        answer = remembered;
      } else {
        try {
          answer = { status: 200, body: route(method, url.pathname, form, idempotencyKey) };
        } catch (error) {
          if (!(error instanceof StripeError)) throw error;
          answer = { status: error.status, body: { error: error.body } };
        }
        // Stripe keeps the first answer to a key, errors included, and replays it.
        if (method === 'POST' && idempotencyKey !== undefined) byIdempotencyKey.set(idempotencyKey, answer);
      }
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'request-id': stripeId('req'),
      };
      if (remembered !== undefined) headers['idempotent-replayed'] = 'true';
      if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
      res.writeHead(answer.status, headers).end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    addPayment(payment) {
      if (payments.has(payment.paymentIntent)) throw new Error(`payment ${payment.paymentIntent} added twice`);
      const stored: StoredPayment = {
        paymentIntent: payment.paymentIntent,
        charge: payment.charge ?? null,
        amount: payment.amount,
        currency: payment.currency,
        orderId: payment.orderId,
        status: payment.status ?? 'succeeded',
        livemode: payment.livemode ?? false,
        amountRefunded: 0,
      };
      payments.set(stored.paymentIntent, stored);
      if (stored.charge !== null) byCharge.set(stored.charge, stored);
    },
    refunds: () =>
      refunds.map(({ id, paymentIntent, amount, metadata, idempotencyKey }) => ({
        id,
        paymentIntent,
        amount,
        metadata: { ...metadata },
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      })),
    requests: () => requests.map((request) => ({ ...request })),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
