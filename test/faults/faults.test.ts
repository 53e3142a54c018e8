import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { orderIdFor } from '../../src/gateway/order-id';
import { PAYMENT_CONSUMER } from '../../src/gateway/payment-subscriber';
import { encodeEvent } from '../../src/nats/nest-transport';
import { PAYMENT_STREAM } from '../../src/nats/payment-stream';
import { PAYMENT_SUCCEEDED_SUBJECT, REFUND_REQUESTED_SUBJECT } from '../../src/nats/subjects';
import { ORDER_WORKFLOW_TYPE, orderWorkflowId, type PlacedOrder } from '../../src/orders/messages';
import type { OrderStatus, OrderWithItems } from '../../src/orders/types';
import { chargeSucceededEvent, checkoutSessionEvent, postWebhook, signEvent } from '../../src/payments/test-events';
import { eventually } from '../support/eventually';
import { REPO_ROOT } from '../support/run-command';
import { APP_NAMES, startFaultSystem, type CallerError, type FaultSystem } from './support/fault-system';

/**
 * Issue 4's fault suite: each scenario breaks one part of a running system (separate processes on
 * infrastructure of its own), lets it recover, and then proves that no order was lost, doubled or
 * left stuck: by reading the orders themselves and by running `npm run audit`.
 */

const run = promisify(execFile);

let system: FaultSystem;
let products: { kettle: number; mug: number };

/** Every order the suite placed and the state it must end in; the audit must agree after each scenario. */
interface Expected {
  orderId: string;
  status: OrderStatus;
  paymentId: string | null;
}
const ledger = new Map<string, Expected>();

const ITEMS = (): Array<{ productId: number; quantity: number }> => [
  { productId: products.kettle, quantity: 2 },
  { productId: products.mug, quantity: 1 },
];
// 2 x 12.50 + 1 x 7.25
const ORDER_TOTAL = 32.25;

beforeAll(async () => {
  system = await startFaultSystem();
  const kettle = await system.request<{ id: number }>('products.create', { name: 'Fault kettle', price: 12.5 });
  const mug = await system.request<{ id: number }>('products.create', { name: 'Fault mug', price: 7.25 });
  products = { kettle: kettle.id, mug: mug.id };
  // Long enough for a first run that builds the Temporal CLI and stripe-mock with go install.
}, 900_000);

afterAll(async () => {
  await system?.close();
}, 120_000);

beforeEach(async () => {
  // A scenario that failed half-way must not take the next ones down with it.
  const restarted = await system.heal();
  if (restarted.length > 0) process.stderr.write(`[faults] restarted before this scenario: ${restarted.join(', ')}\n`);
}, 120_000);

const asCallerError = (error: unknown): CallerError =>
  typeof error === 'object' && error !== null && 'status' in error
    ? (error as CallerError)
    : { status: 'no answer', message: error instanceof Error ? error.message : String(error) };

/**
 * `orders.create` as a careful caller sends it: with an idempotencyKey, retried until it succeeds.
 * Every failure on the way is recorded, so the test can say which ones are acceptable.
 */
async function createOrder(key: string, failures: CallerError[], timeoutMs = 60_000): Promise<PlacedOrder> {
  return eventually(
    async () => {
      try {
        return await system.request<PlacedOrder>('orders.create', { items: ITEMS(), idempotencyKey: key });
      } catch (error) {
        failures.push(asCallerError(error));
        throw error;
      }
    },
    timeoutMs,
    250,
  );
}

function expectPlaced(placed: PlacedOrder, key: string): void {
  expect(placed.order).toMatchObject({ id: orderIdFor(key), status: 'PENDING', totalAmount: ORDER_TOTAL, totalItems: 3 });
  expect(typeof placed.paymentSession.url).toBe('string');
}

const paymentFor = (orderId: string, tag: string) => ({
  stripePaymentId: `pi_${tag}_${randomUUID().replace(/-/g, '')}`,
  orderId,
  receiptUrl: null,
});

const newKeys = (tag: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${tag}-${i}-${randomUUID()}`);

/** Places `count` orders while nothing is broken and records them as PENDING. */
async function placeOrders(tag: string, count: number): Promise<string[]> {
  const failures: CallerError[] = [];
  const placed = await Promise.all(newKeys(tag, count).map(async (key) => {
    const result = await createOrder(key, failures, 30_000);
    expectPlaced(result, key);
    return result.order.id;
  }));
  expect(failures).toEqual([]);
  for (const orderId of placed) ledger.set(orderId, { orderId, status: 'PENDING', paymentId: null });
  return placed;
}

interface OrderRow {
  id: string;
  status: OrderStatus;
  paid: boolean;
  stripe_charge_id: string | null;
}
interface PaymentRow {
  order_id: string;
  stripe_payment_id: string;
  outcome: string;
}

const byId = <T extends { id?: string; order_id?: string; orderId?: string }>(rows: T[]): T[] =>
  [...rows].sort((a, b) => String(a.id ?? a.order_id ?? a.orderId).localeCompare(String(b.id ?? b.order_id ?? b.orderId)));

/**
 * The orders in PostgreSQL are exactly as the ledger says: one row each, the expected status, the
 * expected payment as the only payment recorded (applied once, never refunded as a duplicate).
 */
async function expectLedgerInDatabase(orderIds: string[] = [...ledger.keys()]): Promise<void> {
  const expected = orderIds.map((id) => ledger.get(id) as Expected);
  const orders = await system.query<OrderRow>(
    'SELECT id, status, paid, stripe_charge_id FROM orders WHERE id = ANY($1::uuid[])',
    [orderIds],
  );
  expect(byId(orders)).toEqual(
    byId(expected.map((e) => ({ id: e.orderId, status: e.status, paid: e.paymentId !== null, stripe_charge_id: e.paymentId }))),
  );
  const payments = await system.query<PaymentRow>(
    'SELECT order_id, stripe_payment_id, outcome FROM payments WHERE order_id = ANY($1::uuid[])',
    [orderIds],
  );
  expect(byId(payments)).toEqual(
    byId(expected.filter((e) => e.paymentId !== null).map((e) => ({ order_id: e.orderId, stripe_payment_id: e.paymentId, outcome: 'APPLIED' }))),
  );
}

/** Exactly one OrderWorkflow run per order in the ledger, and none for anything else. */
async function expectOneWorkflowPerOrder(): Promise<void> {
  const runs = new Map<string, number>();
  for await (const execution of system.temporal.workflow.list({ query: `WorkflowType="${ORDER_WORKFLOW_TYPE}"` })) {
    runs.set(execution.workflowId, (runs.get(execution.workflowId) ?? 0) + 1);
  }
  expect(Object.fromEntries(runs)).toEqual(Object.fromEntries([...ledger.keys()].map((id) => [orderWorkflowId(id), 1])));
}

async function expectOrderCount(): Promise<void> {
  const [row] = await system.query<{ count: number }>('SELECT count(*)::int AS count FROM orders');
  expect(row?.count).toBe(ledger.size);
}

async function consumerBacklog(): Promise<{ pending: number; ackPending: number }> {
  const info = await (await system.nats.jetstreamManager()).consumers.info(PAYMENT_STREAM, PAYMENT_CONSUMER);
  return { pending: info.num_pending, ackPending: info.num_ack_pending };
}

/** Refund requests in the stream for these orders: a payment applied twice would ask for one. */
async function refundRequestsFor(orderIds: string[] = [...ledger.keys()]): Promise<string[]> {
  const jsm = await system.nats.jetstreamManager();
  const { state } = await jsm.streams.info(PAYMENT_STREAM);
  const wanted = new Set(orderIds);
  const found: string[] = [];
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq += 1) {
    const message = await jsm.streams.getMessage(PAYMENT_STREAM, { seq }).catch(() => null);
    if (message?.subject !== REFUND_REQUESTED_SUBJECT) continue;
    const { data } = message.json<{ data: { orderId: string; stripePaymentId: string } }>();
    if (wanted.has(data.orderId)) found.push(`${data.orderId}/${data.stripePaymentId}`);
  }
  return found;
}

/**
 * `npm run audit` as an operator runs it, against this system. Every scenario ends with all its
 * orders paid, so the audit is told that payment windows and placements end at once: an order
 * still PENDING, or a workflow still placing one, then counts as stuck.
 */
async function audit(): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run(process.execPath, [require.resolve('tsx/cli'), 'src/scripts/audit.ts', '--grace-ms=2000'], {
      cwd: REPO_ROOT,
      env: { ...system.env, ORDER_PAYMENT_WINDOW_MS: '1', ORDER_PLACEMENT_TIMEOUT_MS: '1' },
    });
    return { code: 0, output: stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: `${failed.stdout}${failed.stderr}` };
  }
}

/**
 * What every scenario ends with: the processes are all still up (none died of the fault), the
 * ledger's orders are all in their expected state, nothing is left in the payment consumer, and
 * the audit finds zero missing, duplicate, stuck and mismatched orders.
 */
async function expectConsistent(): Promise<void> {
  await eventually(async () => expect(await consumerBacklog()).toEqual({ pending: 0, ackPending: 0 }), 60_000, 500);
  await eventually(() => expectLedgerInDatabase(), 30_000, 500);
  await expectOrderCount();
  await eventually(() => expectOneWorkflowPerOrder(), 15_000, 500);

  const result = await eventually(async () => {
    const attempt = await audit();
    expect(attempt.output).toContain('OK: no discrepancies');
    return attempt;
  }, 30_000, 1_000);
  expect(result.code).toBe(0);
  expect(result.output).toMatch(/missing: 0\nduplicate: 0\nstuck: 0\nmismatched: 0\n/);
  const paid = [...ledger.values()].filter((e) => e.paymentId !== null).length;
  expect(result.output).toContain(`orders ${ledger.size}, workflows ${ledger.size}, payments ${paid}, `);
  expect(result.output).toMatch(/\(0 in flight\), dead letters 0/);

  // Checked after the audit, so a duplicate applied late has had time to show. No order of the
  // suite is ever paid twice or cancelled after payment, so none may have asked for a refund.
  expect(await refundRequestsFor()).toEqual([]);
  expect(system.unexpectedExits()).toEqual([]);
  expect(APP_NAMES.filter((name) => !system.isAppRunning(name))).toEqual([]);
}

/** Marks orders paid in the ledger and returns the payments to send for them. */
function expectPayments(orderIds: string[], tag: string) {
  return orderIds.map((orderId) => {
    const payment = paymentFor(orderId, tag);
    ledger.set(orderId, { orderId, status: 'PAID', paymentId: payment.stripePaymentId });
    return payment;
  });
}

/** An order placed and paid from start to end, proving that every part works again. */
async function placeAndPayOne(tag: string): Promise<void> {
  const [orderId] = (await placeOrders(tag, 1)) as [string];
  const [payment] = expectPayments([orderId], tag);
  await system.nest.emit('payment.succeeded', payment);
  await eventually(() => expectLedgerInDatabase([orderId]), 30_000, 250);
}

it('kill -9 of the worker mid-order: every order placed once, paid once', async () => {
  const failures: CallerError[] = [];
  let placedSoFar = 0;
  let firstPlaced: () => void = () => undefined;
  const onePlaced = new Promise<void>((resolve) => {
    firstPlaced = resolve;
  });
  // Each caller places its order (retrying on 503 with the same key) and pays it at once.
  const flow = async (key: string) => {
    const placed = await createOrder(key, failures);
    placedSoFar += 1;
    firstPlaced();
    expectPlaced(placed, key);
    const payment = paymentFor(placed.order.id, 'worker');
    await system.nest.emit('payment.succeeded', payment);
    return { key, orderId: placed.order.id, payment };
  };

  const before = newKeys('worker-before', 8).map((key) => flow(key));
  // The worker dies as soon as the first order of the wave is placed: the others are mid-placement.
  await Promise.race([onePlaced, ...before]);
  const unplaced = before.length - placedSoFar;
  await system.killApp('worker');
  expect(unplaced).toBeGreaterThan(0);
  // More orders arrive while no worker runs; their callers get 503s and retry.
  const during = newKeys('worker-during', 4).map((key) => flow(key));
  await system.startApp('worker');

  const flows = await Promise.all([...before, ...during]);
  for (const { orderId, payment } of flows) ledger.set(orderId, { orderId, status: 'PAID', paymentId: payment.stripePaymentId });
  // A request or two may have failed on the way, but only with a clear 503 (or none at all).
  expect(failures.filter((failure) => failure.status !== 503)).toEqual([]);

  // Callers that retry once more with the same key get the same order, now paid, and no second one.
  await eventually(() => expectLedgerInDatabase(flows.map((f) => f.orderId)), 60_000, 500);
  const again = await Promise.all(flows.map(({ key }) => system.request<PlacedOrder>('orders.create', { items: ITEMS(), idempotencyKey: key })));
  expect(again.map((placed) => placed.order.id)).toEqual(flows.map((f) => f.orderId));
  expect(again.map((placed) => placed.order.status)).toEqual(flows.map(() => 'PAID'));

  await expectConsistent();
}, 120_000);

it('NATS restart with payment events in the stream: each applied exactly once afterwards', async () => {
  const orderIds = await placeOrders('nats', 12);
  const payments = expectPayments(orderIds, 'nats');
  const js = system.nats.jetstream();
  // Each event eight times (a peer that published again), more than the subscriber pulls at once,
  // all stored and acknowledged by JetStream; then NATS goes down before the subscriber is through them.
  const copies = Array.from({ length: 8 }, () => payments).flat();
  const acks = await Promise.all(
    copies.map((payment) => js.publish(PAYMENT_SUCCEEDED_SUBJECT, encodeEvent(PAYMENT_SUCCEEDED_SUBJECT, payment))),
  );
  const backlog = await consumerBacklog();
  await system.stopInfra('nats');
  // Some events had not been handled (delivered and acknowledged) when the server stopped.
  expect(backlog.pending + backlog.ackPending).toBeGreaterThan(0);
  await system.startInfra('nats');

  // The stream kept every event across the restart.
  const jsm = await eventually(() => system.nats.jetstreamManager(), 30_000, 250);
  for (const { seq } of acks) {
    const message = await eventually(() => jsm.streams.getMessage(PAYMENT_STREAM, { seq }), 30_000, 250);
    expect(message.subject).toBe(PAYMENT_SUCCEEDED_SUBJECT);
  }
  await eventually(() => expectLedgerInDatabase(orderIds), 60_000, 500);
  // The gateway answers requests again and the whole path works.
  await placeAndPayOne('nats-after');
  await expectConsistent();
}, 120_000);

const ORDER_ID_IN_MESSAGE = /Order ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/;

it('PostgreSQL stop and start while activities run: orders created and paid meanwhile complete', async () => {
  const paidDuringOutage = await placeOrders('postgres-paid', 3);
  await system.stopInfra('postgres');
  const outageStarted = Date.now();

  const payments = expectPayments(paidDuringOutage, 'postgres');
  for (const payment of payments) await system.nest.emit('payment.succeeded', payment);
  // Callers with an idempotencyKey retry until their order is placed.
  const keyedFailures: CallerError[] = [];
  const keys = newKeys('postgres-keyed', 2);
  const keyed = keys.map((key) => createOrder(key, keyedFailures));
  // Callers without one send once: whatever they are told, the order they started must not be lost.
  const keyless = await Promise.all(
    [1, 2].map(() => system.request<PlacedOrder>('orders.create', { items: ITEMS() }).then(
      (placed) => ({ placed, error: undefined }),
      (error: unknown) => ({ placed: undefined, error: asCallerError(error) }),
    )),
  );
  // Nothing can be placed without the database: a clear 503 within the create timeout, naming the order.
  expect(keyless.map((outcome) => outcome.error?.status)).toEqual([503, 503]);
  expect(Date.now() - outageStarted).toBeLessThan(5_000 + 3_000);
  const keylessIds = keyless.map((outcome) => ORDER_ID_IN_MESSAGE.exec(String(outcome.error?.message))?.[1]);
  expect(keylessIds).toEqual([expect.any(String), expect.any(String)]);

  // The workflows have the payments (recorded as local activities, retried inside the worker until
  // the database is back, so no pending activity shows) while the database is down.
  await eventually(async () => {
    for (const orderId of paidDuringOutage) {
      const history = await system.temporal.workflow.getHandle(orderWorkflowId(orderId)).fetchHistory();
      const signalled = (history.events ?? []).filter((event) => event.workflowExecutionSignaledEventAttributes?.signalName === 'paymentSucceeded');
      expect(signalled).toHaveLength(1);
    }
  }, 30_000, 250);
  await system.startInfra('postgres');

  const placed = await Promise.all(keyed);
  placed.forEach((result, i) => expectPlaced(result, keys[i] as string));
  const created = [...placed.map((result) => result.order.id), ...(keylessIds as string[])];
  for (const orderId of created) ledger.set(orderId, { orderId, status: 'PENDING', paymentId: null });
  await eventually(() => expectLedgerInDatabase(created), 60_000, 500);
  await eventually(() => expectLedgerInDatabase(paidDuringOutage), 60_000, 500);
  // The orders placed once the database was back can be paid like any other.
  for (const payment of expectPayments(created, 'postgres-after')) await system.nest.emit('payment.succeeded', payment);
  await eventually(() => expectLedgerInDatabase(created), 60_000, 500);
  await expectConsistent();

  // Last, so the checks above still run: while the database was down, callers with an
  // idempotencyKey must also have been told to retry with a 503, like the others.
  expect(keyedFailures.length).toBeGreaterThan(0);
  expect(keyedFailures.filter((failure) => failure.status !== 503)).toEqual([]);
}, 120_000);

it('Temporal dev server restart (same database file): open orders continue and get paid', async () => {
  const orderIds = await placeOrders('temporal', 4);
  const [delivered, ...open] = orderIds as [string, ...string[]];
  const [firstPayment] = expectPayments([delivered], 'temporal-before');
  await system.nest.emit('payment.succeeded', firstPayment);
  await eventually(() => expectLedgerInDatabase([delivered]), 30_000, 250);

  await system.stopInfra('temporal');
  await system.startInfra('temporal');

  // The workflows survived the restart in the database file.
  for (const orderId of orderIds) {
    const description = await eventually(() => system.temporal.workflow.getHandle(orderWorkflowId(orderId)).describe(), 30_000, 250);
    expect(description.status.name).toBe('RUNNING');
  }
  for (const payment of expectPayments(open, 'temporal-after')) await system.nest.emit('payment.succeeded', payment);
  await eventually(() => expectLedgerInDatabase(open), 90_000, 500);

  // An update through the restarted server; retried like a caller would after a 503.
  const changed = await eventually(
    () => system.request<OrderWithItems>('orders.change.status', { id: delivered, status: 'DELIVERED' }),
    60_000,
    500,
  );
  expect(changed).toMatchObject({ id: delivered, status: 'DELIVERED', paid: true, stripeChargeId: firstPayment?.stripePaymentId });
  ledger.set(delivered, { orderId: delivered, status: 'DELIVERED', paymentId: firstPayment?.stripePaymentId ?? null });

  await placeAndPayOne('temporal-new');
  await expectConsistent();
}, 120_000);

it('gateway down while the payments service publishes payment.succeeded: each applied once when it is back', async () => {
  const orderIds = await placeOrders('gateway', 4);
  await system.killApp('gateway');

  // Stripe sends the webhooks; the payments service stores each event before answering 200.
  const sent = orderIds.map((orderId) => {
    const event = checkoutSessionEvent({ orderId, paymentIntentId: `pi_gateway_${randomUUID().replace(/-/g, '')}` });
    ledger.set(orderId, { orderId, status: 'PAID', paymentId: event.data.object.payment_intent as string });
    return event;
  });
  for (const event of sent) {
    expect(await postWebhook(system.paymentsWebhookUrl, signEvent(event, system.webhookSecret))).toMatchObject({
      status: 200,
      body: { received: true },
    });
  }
  const [first] = sent as [(typeof sent)[number]];
  // Stripe retrying the same event, and the charge of the same payment: neither may pay twice.
  expect(await postWebhook(system.paymentsWebhookUrl, signEvent(first, system.webhookSecret))).toMatchObject({
    status: 200,
    body: { received: true, duplicate: true },
  });
  const charge = chargeSucceededEvent({ orderId: orderIds[0], paymentIntentId: first.data.object.payment_intent as string });
  expect(await postWebhook(system.paymentsWebhookUrl, signEvent(charge, system.webhookSecret))).toMatchObject({ status: 200 });

  // Nothing is applied while the gateway is down; the events wait in the stream.
  const waiting = await consumerBacklog();
  expect(waiting.pending + waiting.ackPending).toBeGreaterThanOrEqual(sent.length + 1);
  const pendingRows = await system.query<{ status: string }>('SELECT status FROM orders WHERE id = ANY($1::uuid[])', [orderIds]);
  expect(pendingRows.map((row) => row.status)).toEqual(orderIds.map(() => 'PENDING'));

  await system.startApp('gateway');
  await eventually(() => expectLedgerInDatabase(orderIds), 60_000, 500);
  await expectConsistent();
}, 120_000);
