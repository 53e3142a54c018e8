import { randomUUID } from 'node:crypto';
import { createDeadLettersRepository } from '../src/db/dead-letters-repository';
import { REFUND_REQUESTED_SUBJECT } from '../src/nats/subjects';
import {
  orderWorkflowId,
  OrderStatusAttribute,
  OrderTotalAttribute,
  PaymentIdAttribute,
} from '../src/orders/workflow-api';
import type { OrderWithItems } from '../src/orders/types';
import { resolveDeadLetters } from './support/dead-letters';
import { eventually } from './support/eventually';
import { paymentEvent } from './support/orders-client';
import { startTestSystem, type TestSystem } from './support/system';

// Orders close soon after their final state, so late payments meet a closed workflow.
const GRACE_MS = 300;

let system: TestSystem;
let product: { id: number };

beforeAll(async () => {
  system = await startTestSystem({ ORDER_LATE_PAYMENT_GRACE_MS: String(GRACE_MS) });
  product = await system.nest.send('products.create', { name: 'Kettle', price: 30 });
});

afterAll(async () => {
  await system?.stop();
});

const place = async (): Promise<OrderWithItems> =>
  (await system.client.place([{ productId: product.id, quantity: 1 }])).order;

it('applies a payment that arrived while the worker was down once it is back', async () => {
  const order = await place();
  await system.stopPart('worker');
  await system.client.pay(order.id);
  // Temporal holds the signal: the event is acknowledged although no worker runs.
  await eventually(async () => {
    const history = await system.temporal.workflow.getHandle(orderWorkflowId(order.id)).fetchHistory();
    expect(history.events?.some((event) => event.workflowExecutionSignaledEventAttributes)).toBe(true);
  });
  expect((await system.client.findOne(order.id)).status).toBe('PENDING');
  await system.startPart('worker');
  await system.client.waitForStatus(order.id, 'PAID');
});

it('applies a payment published while the gateway (the payment subscriber) was down', async () => {
  const order = await place();
  await system.stopPart('gateway');
  await system.client.pay(order.id);
  await system.startPart('gateway');
  await system.client.waitForStatus(order.id, 'PAID');
});

it('keeps a payment for an unknown order as a dead letter an operator can list', async () => {
  const unknown = paymentEvent(randomUUID());
  await system.nest.emit('payment.succeeded', unknown);
  const deadLetters = createDeadLettersRepository(system.pool);
  const letter = await eventually(async () => {
    const found = (await deadLetters.list()).find((entry) => entry.body.includes(unknown.stripePaymentId));
    expect(found).toBeDefined();
    return found;
  });
  expect(letter?.reason).toBe(`no order ${unknown.orderId}`);
  // Made on purpose: resolved, as an operator would, so the run's audit reports only the unexpected.
  await resolveDeadLetters(system.pool, (entry) => entry.body.includes(unknown.stripePaymentId));
});

it('keeps a malformed payment event as a dead letter', async () => {
  const marker = randomUUID();
  await system.nest.emit('payment.succeeded', { orderId: 'not-a-uuid', marker });
  const deadLetters = createDeadLettersRepository(system.pool);
  const letter = await eventually(async () => {
    const found = (await deadLetters.list()).find((entry) => entry.body.includes(marker));
    expect(found).toBeDefined();
    return found;
  });
  expect(letter?.reason).toContain('invalid payment event');
  expect(letter?.reason).toContain('stripePaymentId');
  await resolveDeadLetters(system.pool, (entry) => entry.body.includes(marker));
});

it('records a payment for an order whose workflow has closed, and requests its refund', async () => {
  const refunds: Array<{ data: { stripePaymentId: string } }> = [];
  const subscription = system.nats.subscribe(REFUND_REQUESTED_SUBJECT, {
    callback: (_error, msg) => {
      refunds.push(msg.json());
    },
  });
  const order = await place();
  const first = paymentEvent(order.id);
  await system.nest.emit('payment.succeeded', first);
  await system.client.waitForStatus(order.id, 'PAID');
  await system.nest.send('orders.change.status', { id: order.id, status: 'DELIVERED' });
  const handle = system.temporal.workflow.getHandle(orderWorkflowId(order.id));
  expect(await handle.result()).toBe('DELIVERED');

  // The first payment redelivered changes nothing; a second payment is kept and refunded.
  const second = paymentEvent(order.id);
  await system.nest.emit('payment.succeeded', first);
  await system.nest.emit('payment.succeeded', second);
  await eventually(async () =>
    expect(await system.orders.findPaymentIds(order.id)).toEqual([first.stripePaymentId, second.stripePaymentId]),
  );
  await eventually(async () =>
    expect(refunds.map((refund) => refund.data.stripePaymentId)).toContain(second.stripePaymentId),
  );
  expect(refunds.map((refund) => refund.data.stripePaymentId)).not.toContain(first.stripePaymentId);
  expect(await system.orders.findOrder(order.id)).toMatchObject({
    status: 'DELIVERED',
    stripeChargeId: first.stripePaymentId,
  });
  // The Web UI says why the workflow ran again, and still finds the order by its total and payment.
  const resumed = await handle.describe();
  expect(await resumed.staticSummary()).toMatch(new RegExp(`^Order ${order.id}: resumed for a late payment \\(pi_`));
  expect(resumed.typedSearchAttributes.get(OrderStatusAttribute)).toBe('DELIVERED');
  expect(resumed.typedSearchAttributes.get(OrderTotalAttribute)).toBe(order.totalAmount);
  expect(resumed.typedSearchAttributes.get(PaymentIdAttribute)).toBe(first.stripePaymentId);
  subscription.unsubscribe();
});
