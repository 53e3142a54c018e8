import { appendFileSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { connect } from '@nats-io/transport-node';
import { OrderFactory } from '../../bench/load';
import { nestRequest } from '../../bench/wire';
import { checkoutSessionEvent, postWebhook, signEvent, webhookUrl } from '../../src/payments/test-events';
import type { LoadEvent } from './report';

/**
 * The load host's program (dev/hosts/run.ts starts it in the load host's namespace): orders created
 * at a fixed rate for as long as it runs, each by a careful caller (one idempotencyKey, retried
 * until accepted, backing off exponentially), then paid as Stripe pays, a signed `checkout.session.completed` posted to the
 * payments service and retried until it answers 2xx. In "twice" mode (the control file) every
 * payment arrives a second time as another event for the same payment intent. Every outcome is a
 * line of the events file, which the runner reads per scenario.
 */

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const RATE = Number(env('HOSTS_RATE'));
const EVENTS = env('HOSTS_LOAD_EVENTS');
const CONTROL = env('HOSTS_LOAD_CONTROL');
const RUN = env('HOSTS_RUN_ID');
const SECRET = env('STRIPE_WEBHOOK_SECRET');
const WEBHOOK = webhookUrl(env('PAYMENTS_PUBLIC_URL'));
/** One attempt's deadline; the gateway answers 503 well before (ORDER_CREATE_TIMEOUT_MS). */
const ATTEMPT_MS = 10_000;
/** A caller gives up after this long; such an order counts as never accepted. */
const GIVE_UP_MS = 180_000;

/** A careful caller's pause before its next attempt: exponential from 0.5 s to 8 s, with jitter. */
const backoff = (attempt: number): Promise<void> =>
  delay(Math.min(8_000, 500 * 2 ** Math.max(0, attempt - 1)) * (0.5 + Math.random() / 2));

const record = (event: LoadEvent): void => appendFileSync(EVENTS, `${JSON.stringify(event)}\n`);

function control(): { twice: boolean; stop: boolean } {
  try {
    return JSON.parse(readFileSync(CONTROL, 'utf8')) as { twice: boolean; stop: boolean };
  } catch {
    return { twice: false, stop: false };
  }
}

async function main(): Promise<void> {
  const nats = await connect({
    servers: env('NATS_URL').split(','),
    name: 'orders-hosts-load',
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 5_000,
    maxPingOut: 2,
  });
  const orders = new OrderFactory(RUN);
  let state = control();
  const controlTimer = setInterval(() => {
    state = control();
  }, 500);
  const inFlight = new Set<Promise<void>>();

  const pay = async (seq: number, orderId: string): Promise<void> => {
    const paymentId = `pi_hosts_${RUN}_${seq}`;
    const copies = state.twice ? 2 : 1;
    for (let copy = 1; copy <= copies; copy += 1) {
      const event = checkoutSessionEvent({ orderId, paymentIntentId: paymentId });
      const started = Date.now();
      for (let attempt = 1; ; attempt += 1) {
        const outcome = await postWebhook(WEBHOOK, signEvent(event, SECRET)).catch((error: unknown) => ({
          status: 0,
          body: (error as Error).message,
        }));
        if (outcome.status >= 200 && outcome.status < 300) break;
        record({
          e: 'pay-error',
          seq,
          at: Date.now(),
          kind: outcome.status === 0 ? 'webhook-unreachable' : `webhook-${outcome.status}`,
        });
        if (Date.now() - started > GIVE_UP_MS) {
          record({ e: 'pay-gave-up', seq, orderId, paymentId, at: Date.now() });
          return;
        }
        await backoff(attempt);
      }
    }
    record({ e: 'pay', seq, orderId, paymentId, at: Date.now(), copies });
  };

  const order = async (seq: number): Promise<void> => {
    const body = orders.next('service');
    const sentAt = Date.now();
    record({ e: 'sent', seq, at: sentAt });
    let attempts = 0;
    for (;;) {
      attempts += 1;
      const outcome = await nestRequest<{ order?: { id?: unknown } }>(nats, 'orders.create', body, ATTEMPT_MS);
      const orderId = outcome.ok ? outcome.value?.order?.id : undefined;
      if (typeof orderId === 'string') {
        record({ e: 'create', seq, key: body.idempotencyKey, orderId, sentAt, at: Date.now(), attempts });
        await pay(seq, orderId);
        return;
      }
      record({ e: 'create-error', seq, at: Date.now(), kind: outcome.ok ? 'bad-reply' : outcome.kind });
      if (Date.now() - sentAt > GIVE_UP_MS) {
        record({ e: 'create-gave-up', seq, key: body.idempotencyKey, at: Date.now() });
        return;
      }
      await backoff(attempts);
    }
  };

  let stopping = false;
  process.once('SIGTERM', () => {
    stopping = true;
  });
  process.stdout.write(`${JSON.stringify({ msg: 'ready', rate: RATE })}\n`);
  const started = Date.now();
  for (let seq = 1; !stopping && !state.stop; seq += 1) {
    const wait = started + ((seq - 1) * 1000) / RATE - Date.now();
    if (wait > 0) await delay(wait);
    const flow = order(seq);
    inFlight.add(flow);
    void flow.finally(() => inFlight.delete(flow));
  }
  // Asked to stop: every order under way finishes (the runner waits for `drained`).
  await Promise.all([...inFlight]);
  record({ e: 'drained', at: Date.now() });
  clearInterval(controlTimer);
  await nats.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`load host failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
