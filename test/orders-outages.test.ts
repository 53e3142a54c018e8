import { randomUUID } from 'node:crypto';
import { createLogger } from '../src/logger';
import { ORDER_WORKFLOW_TYPE, orderWorkflowId, OrderStatusAttribute } from '../src/orders/workflow-api';
import type { OrderWithItems } from '../src/orders/types';
import { startPaymentsService, type PaymentsService } from '../src/payments/service';
import { createStripeClient } from '../src/payments/stripe-client';
import type { OrderWorkflow } from '../src/workflows/order-workflow';
import { eventually } from './support/eventually';
import { placeInput } from './support/stub-worker';
import { startTestSystem, type TestSystem } from './support/system';

// Short windows, so giving up is observable within a test.
const CREATE_TIMEOUT_MS = 8_000;
const PLACEMENT_TIMEOUT_MS = 1_500;

let system: TestSystem;
let product: { id: number };
/** The payments service started again after its outage (the system's own one stays stopped). */
let restartedPayments: PaymentsService | undefined;

beforeAll(async () => {
  system = await startTestSystem({
    ORDER_CREATE_TIMEOUT_MS: String(CREATE_TIMEOUT_MS),
    ORDER_PLACEMENT_TIMEOUT_MS: String(PLACEMENT_TIMEOUT_MS),
  });
  product = await system.nest.send('products.create', { name: 'Lamp', price: 12.5 });
});

afterAll(async () => {
  await restartedPayments?.stop();
  await system?.stop();
});

const orderCount = async (): Promise<number> =>
  (await system.nest.send<{ meta: { total: number } }>('orders.find.all', {})).meta.total;

/** An order whose payment window ends a second after it starts, and whose late-payment grace is as short. */
async function startWithShortWindow() {
  const orderId = randomUUID();
  const input = placeInput(orderId, [{ productId: product.id, quantity: 1 }], {
    placementTimeoutMs: 10_000,
    paymentWindowMs: 1_000,
    latePaymentGraceMs: 1_000,
  });
  const handle = await system.temporal.workflow.start<typeof OrderWorkflow>(ORDER_WORKFLOW_TYPE, {
    workflowId: orderWorkflowId(orderId),
    taskQueue: system.config.temporal.taskQueue,
    args: [input],
  });
  return { orderId, handle };
}

/** After an outage: a new order is placed with its checkout, paid and delivered. */
async function expectOrdersServed(): Promise<void> {
  const before = await orderCount();
  const { order, paymentSession } = await system.client.place([{ productId: product.id, quantity: 1 }]);
  expect(order).toMatchObject({ status: 'PENDING', paid: false });
  expect(paymentSession.url).toEqual(expect.any(String));
  expect(await orderCount()).toBe(before + 1);
  await system.client.pay(order.id);
  await system.client.waitForStatus(order.id, 'PAID', 15_000);
  expect(await system.client.changeStatus(order.id, 'DELIVERED')).toMatchObject({ status: 'DELIVERED', paid: true });
}

it('cancels a PENDING order by itself when its payment window ends', async () => {
  const { orderId, handle } = await startWithShortWindow();
  // The workflow closes once the window and then the late-payment grace have passed.
  expect(await handle.result()).toBe('CANCELLED');
  expect(await system.nest.send<OrderWithItems>('orders.find.one', { id: orderId })).toMatchObject({
    status: 'CANCELLED',
    paid: false,
  });
});

it('cancels a PENDING order whose workflow was terminated, once its payment window ends', async () => {
  const { orderId, handle } = await startWithShortWindow();
  await eventually(async () => expect(await system.orders.findPaymentSession(orderId)).not.toBeNull());
  await handle.terminate('an operator stopped it');
  // The gateway finds the ended window, and starts the order's workflow again from PostgreSQL to end it.
  await eventually(
    async () =>
      expect(await system.nest.send<OrderWithItems>('orders.find.one', { id: orderId })).toMatchObject({
        status: 'CANCELLED',
        paid: false,
      }),
    15_000,
  );
  // A new run did it: it found the order by its window, and the Web UI finds it CANCELLED.
  const run = await system.temporal.workflow.getHandle(orderWorkflowId(orderId)).describe();
  expect(run.runId).not.toBe(handle.firstExecutionRunId);
  await eventually(async () =>
    expect(
      (await system.temporal.workflow.getHandle(orderWorkflowId(orderId)).describe()).typedSearchAttributes.get(
        OrderStatusAttribute,
      ),
    ).toBe('CANCELLED'),
  );
});

it('cancels the order and tells the caller when no payment session can be created', async () => {
  await system.stopPart('payments');
  const before = await orderCount();
  const error = await system.nest.sendExpectingError('orders.create', {
    items: [{ productId: product.id, quantity: 2 }],
  });
  expect(error.status).toBe(503);
  expect(error.message).toMatch(
    /payment session for order [0-9a-f-]{36} could not be created; the order was cancelled/,
  );

  const orderId = (error.message as string).match(/order ([0-9a-f-]{36})/)?.[1] as string;
  expect(await system.nest.send<OrderWithItems>('orders.find.one', { id: orderId })).toMatchObject({
    status: 'CANCELLED',
  });
  expect(await orderCount()).toBe(before + 1);

  // The payments service back, as a restarted process: orders are placed and paid again.
  const { config } = system;
  restartedPayments = await startPaymentsService({
    nats: system.nats,
    stripe: createStripeClient(config.stripe),
    logger: createLogger('payments-restarted', config.logLevel),
    config: { ...config, payments: { ...config.payments, httpPort: 0 } },
  });
  await expectOrdersServed();
});

it('answers 503 within the timeout and stores nothing while the products service is down', async () => {
  await system.stopPart('products');
  const before = await orderCount();
  const startedAt = Date.now();
  const error = await system.nest.sendExpectingError('orders.create', {
    items: [{ productId: product.id, quantity: 1 }],
  });
  expect(error).toEqual({ status: 503, message: 'The products service is unavailable' });
  expect(Date.now() - startedAt).toBeLessThan(CREATE_TIMEOUT_MS + 1_000);
  expect(await orderCount()).toBe(before);

  // The products service back: orders are placed again.
  await system.startPart('products');
  await expectOrdersServed();
});
