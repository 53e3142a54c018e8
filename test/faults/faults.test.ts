import { randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { encodeEvent } from '../../src/nats/nest-transport';
import { PAYMENT_STREAM } from '../../src/nats/payment-stream';
import { PAYMENT_SUCCEEDED_SUBJECT } from '../../src/nats/subjects';
import { orderWorkflowId, type PlacedOrder } from '../../src/orders/workflow-api';
import type { OrderWithItems } from '../../src/orders/types';
import { chargeSucceededEvent, checkoutSessionEvent, postWebhook, signEvent } from '../../src/payments/test-events';
import { eventually } from '../support/eventually';
import { startFaultSystem, type CallerError, type FaultSystem } from './support/fault-system';
import {
  asCallerError,
  consumerBacklog,
  createOrder,
  expectConsistent,
  expectLedgerInDatabase,
  expectPayments,
  expectPlaced,
  ITEMS,
  ledger,
  newKeys,
  paymentFor,
  placeAndPayOne,
  placeOrders,
  useSystem,
} from './support/ledger';

/**
 * The fault suite: each scenario breaks one part of a running system (separate processes on
 * infrastructure of its own), lets it recover, and then proves that no order was lost, doubled or
 * left stuck: by reading the orders themselves and by running `npm run audit`.
 */

let system: FaultSystem;
let products: { kettle: number; mug: number };

beforeAll(async () => {
  system = await startFaultSystem();
  const kettle = await system.request<{ id: number }>('products.create', { name: 'Fault kettle', price: 12.5 });
  const mug = await system.request<{ id: number }>('products.create', { name: 'Fault mug', price: 7.25 });
  products = { kettle: kettle.id, mug: mug.id };
  useSystem(system, products);
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
  for (const { orderId, payment } of flows)
    ledger.set(orderId, { orderId, status: 'PAID', paymentId: payment.stripePaymentId });
  // A request or two may have failed on the way, but only with a clear 503 (or none at all).
  expect(failures.filter((failure) => failure.status !== 503)).toEqual([]);

  // Callers that retry once more with the same key get the same order, now paid, and no second one.
  await eventually(() => expectLedgerInDatabase(flows.map((f) => f.orderId)), 60_000, 500);
  const again = await Promise.all(
    flows.map(({ key }) => system.request<PlacedOrder>('orders.create', { items: ITEMS(), idempotencyKey: key })),
  );
  expect(again.map((placed) => placed.order.id)).toEqual(flows.map((f) => f.orderId));
  expect(again.map((placed) => placed.order.status)).toEqual(flows.map(() => 'PAID'));

  await expectConsistent();
}, 120_000);

it('NATS restart with payment events in the stream: each applied exactly once afterwards', async () => {
  const orderIds = await placeOrders('nats', 12);
  const payments = expectPayments(orderIds, 'nats');
  const js = jetstream(system.nats);
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
  const jsm = await eventually(() => jetstreamManager(system.nats), 30_000, 250);
  for (const { seq } of acks) {
    const message = await eventually(
      async () => {
        // A message the stream does not hold is null, not an error.
        const stored = await jsm.streams.getMessage(PAYMENT_STREAM, { seq });
        if (stored === null) throw new Error(`stream message ${seq} not found`);
        return stored;
      },
      30_000,
      250,
    );
    expect(message.subject).toBe(PAYMENT_SUCCEEDED_SUBJECT);
  }
  await eventually(() => expectLedgerInDatabase(orderIds), 60_000, 500);
  // The gateway answers requests again (once every client has reconnected and resubscribed, which
  // can take a few seconds on a loaded machine), and then the whole path works.
  await eventually(() => system.request('orders.find.all', { limit: 1 }), 30_000, 250);
  await placeAndPayOne('nats-after');
  await expectConsistent();
}, 120_000);

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
    [1, 2].map(() =>
      system.request<PlacedOrder>('orders.create', { items: ITEMS() }).then(
        (placed) => ({ placed, error: undefined }),
        (error: unknown) => ({ placed: undefined, error: asCallerError(error) }),
      ),
    ),
  );
  // Nothing can be placed without the database: a clear 503 within the create timeout, naming the order.
  expect(keyless.map((outcome) => outcome.error?.status)).toEqual([503, 503]);
  expect(Date.now() - outageStarted).toBeLessThan(5_000 + 3_000);
  // A keyless create's deadline is read on the database's clock: without the database it is refused
  // before any workflow starts, so nothing of it can be stored later (the order count below).
  expect(keyless.map((outcome) => outcome.error?.message)).toEqual([
    expect.stringContaining('database is unavailable'),
    expect.stringContaining('database is unavailable'),
  ]);

  // The workflows have the payments (recorded as local activities, retried inside the worker until
  // the database is back, so no pending activity shows) while the database is down.
  await eventually(
    async () => {
      for (const orderId of paidDuringOutage) {
        const history = await system.temporal.workflow.getHandle(orderWorkflowId(orderId)).fetchHistory();
        const signalled = (history.events ?? []).filter(
          (event) => event.workflowExecutionSignaledEventAttributes?.signalName === 'paymentSucceeded',
        );
        expect(signalled).toHaveLength(1);
      }
    },
    30_000,
    250,
  );
  await system.startInfra('postgres');

  const placed = await Promise.all(keyed);
  placed.forEach((result, i) => expectPlaced(result, keys[i] as string));
  // A caller without a key cannot find its order again: placement ended at its deadline and
  // nothing was kept (a keyless create that runs out of time leaves no order), so only the keyed orders exist.
  const created = placed.map((result) => result.order.id);
  for (const orderId of created) ledger.set(orderId, { orderId, status: 'PENDING', paymentId: null });
  await eventually(() => expectLedgerInDatabase(created), 60_000, 500);
  await eventually(() => expectLedgerInDatabase(paidDuringOutage), 60_000, 500);
  // The orders placed once the database was back can be paid like any other.
  for (const payment of expectPayments(created, 'postgres-after')) await system.nest.emit('payment.succeeded', payment);
  await eventually(() => expectLedgerInDatabase(created), 60_000, 500);
  await expectConsistent();

  // Callers with an idempotencyKey wait on their order's workflow, which retries the database: what
  // they were told while it was down, if anything, was a 503 to retry with the same key.
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
    const description = await eventually(
      () => system.temporal.workflow.getHandle(orderWorkflowId(orderId)).describe(),
      30_000,
      250,
    );
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
  expect(changed).toMatchObject({
    id: delivered,
    status: 'DELIVERED',
    paid: true,
    stripeChargeId: firstPayment?.stripePaymentId,
  });
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
  const charge = chargeSucceededEvent({
    orderId: orderIds[0],
    paymentIntentId: first.data.object.payment_intent as string,
  });
  expect(await postWebhook(system.paymentsWebhookUrl, signEvent(charge, system.webhookSecret))).toMatchObject({
    status: 200,
  });

  // Nothing is applied while the gateway is down; the events wait in the stream.
  const waiting = await consumerBacklog();
  expect(waiting.pending + waiting.ackPending).toBeGreaterThanOrEqual(sent.length + 1);
  const pendingRows = await system.query<{ status: string }>('SELECT status FROM orders WHERE id = ANY($1::uuid[])', [
    orderIds,
  ]);
  expect(pendingRows.map((row) => row.status)).toEqual(orderIds.map(() => 'PENDING'));

  await system.startApp('gateway');
  await eventually(() => expectLedgerInDatabase(orderIds), 60_000, 500);
  await expectConsistent();
}, 120_000);
