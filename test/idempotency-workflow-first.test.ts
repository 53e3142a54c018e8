import { randomUUID } from 'node:crypto';
import type { OrdersRepository } from '../src/db/orders-repository';
import { createOrderHandlers } from '../src/gateway/order-handlers';
import { orderIdFor } from '../src/gateway/order-id';
import { createLogger } from '../src/logger';
import { RpcError } from '../src/rpc-error';
import { ORDER_SUBJECTS } from '../src/nats/subjects';
import { orderWorkflowId, type PlacedOrder } from '../src/orders/workflow-api';
import { startTestSystem, type TestSystem } from './support/system';

/**
 * A keyed create asks the workflow of the key's first attempt before reading PostgreSQL: the
 * gateway's handlers here read through a repository that records every call made through it.
 */

let system: TestSystem;
let kettle: { id: number };
let teapot: { id: number };

beforeAll(async () => {
  system = await startTestSystem();
  kettle = await system.nest.send('products.create', { name: 'Kettle', price: 30 });
  teapot = await system.nest.send('products.create', { name: 'Teapot', price: 25 });
});

afterAll(async () => {
  await system?.stop();
});

/** The gateway's create handler on the test system, and the repository methods it has called. */
function createCountingReads(): {
  create: (items: unknown, idempotencyKey: string) => Promise<PlacedOrder>;
  calls: string[];
} {
  const calls: string[] = [];
  const orders = new Proxy(system.orders, {
    get(target, name, receiver): unknown {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        calls.push(String(name));
        return (value as (...args: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as OrdersRepository;
  const handlers = createOrderHandlers({
    temporal: system.temporal,
    orders,
    taskQueue: system.config.temporal.taskQueue,
    settings: system.config.orders,
    logger: createLogger('test', system.config.logLevel),
  });
  const create = (items: unknown, idempotencyKey: string): Promise<PlacedOrder> =>
    handlers[ORDER_SUBJECTS.create]({ items, idempotencyKey });
  return { create, calls };
}

/** The run the order's workflow id names now: its id and status. */
async function latestRun(orderId: string): Promise<{ runId: string; status: string }> {
  const run = await system.temporal.workflow.getHandle(orderWorkflowId(orderId)).describe();
  return { runId: run.runId, status: run.status.name };
}

async function closeWorkflow(orderId: string): Promise<void> {
  await system.temporal.workflow.getHandle(orderWorkflowId(orderId)).terminate('closed by an operator');
}

it('answers a new key, and a retry while its workflow runs, from the workflow with no database read', async () => {
  const { create, calls } = createCountingReads();
  const idempotencyKey = `first-${randomUUID()}`;
  const items = [{ productId: kettle.id, quantity: 2 }];

  const placed = await create(items, idempotencyKey);
  expect(calls).toEqual([]);
  expect(placed.order).toMatchObject({ id: orderIdFor(idempotencyKey), status: 'PENDING', totalAmount: 60 });
  expect(placed.paymentSession.url).toEqual(expect.any(String));
  expect(await system.orders.findOrder(placed.order.id)).toMatchObject({ id: placed.order.id, status: 'PENDING' });

  const again = await create(items, idempotencyKey);
  expect(calls).toEqual([]);
  expect(again.order.id).toBe(placed.order.id);
  expect(again.paymentSession).toEqual(placed.paymentSession);
  expect((await latestRun(placed.order.id)).status).toBe('RUNNING');
});

it('answers a retry from the database once the workflow has closed, without placing the order again', async () => {
  const { create, calls } = createCountingReads();
  const idempotencyKey = `closed-${randomUUID()}`;
  const items = [{ productId: kettle.id, quantity: 1 }];
  const placed = await create(items, idempotencyKey);
  const before = await latestRun(placed.order.id);
  await closeWorkflow(placed.order.id);

  const again = await create(items, idempotencyKey);
  expect(again.order).toMatchObject({ id: placed.order.id, status: 'PENDING', totalAmount: 30 });
  expect(again.paymentSession).toEqual(placed.paymentSession);
  expect(calls).toEqual(expect.arrayContaining(['findOrder', 'findPaymentSession']));
  // No second run: the closed one is still the latest.
  expect(await latestRun(placed.order.id)).toEqual({ runId: before.runId, status: 'TERMINATED' });
});

it('refuses a key reused with other items with a 422, from the running workflow and from the database once it has closed', async () => {
  const { create, calls } = createCountingReads();
  const idempotencyKey = `reused-${randomUUID()}`;
  const placed = await create([{ productId: kettle.id, quantity: 1 }], idempotencyKey);
  const other = [{ productId: teapot.id, quantity: 1 }];
  const refusal = { status: 422, extra: { idempotencyKey, orderId: placed.order.id } };

  const whileRunning = create(other, idempotencyKey);
  await expect(whileRunning).rejects.toBeInstanceOf(RpcError);
  await expect(whileRunning).rejects.toMatchObject(refusal);
  expect(calls).toEqual([]);

  const before = await latestRun(placed.order.id);
  await closeWorkflow(placed.order.id);
  await expect(create(other, idempotencyKey)).rejects.toMatchObject(refusal);
  expect(calls).toContain('findOrder');
  expect(await latestRun(placed.order.id)).toEqual({ runId: before.runId, status: 'TERMINATED' });
});

it("never opens a checkout for a key's order placed before whose workflow history is gone (retention)", async () => {
  const { create } = createCountingReads();
  const idempotencyKey = `retained-${randomUUID()}`;
  // The key's first order gave up on an outage, cancelled without a checkout, and retention has
  // since deleted its workflow: only its row is left.
  const first = orderIdFor(idempotencyKey);
  await system.orders.insertOrder({
    orderId: first,
    currency: 'usd',
    items: [{ productId: kettle.id, name: 'Kettle', priceCents: 3_000, quantity: 1 }],
  });
  await system.orders.setStatus(first, 'CANCELLED');

  const placed = await create([{ productId: kettle.id, quantity: 1 }], idempotencyKey);
  // Answered as the stored orders say: the key's next attempt, placed now.
  expect(placed.order).toMatchObject({ id: orderIdFor(idempotencyKey, 1), status: 'PENDING' });
  expect(await system.orders.findPaymentSession(first)).toBeNull();
  expect(await system.orders.findOrder(first)).toMatchObject({ status: 'CANCELLED' });
});
