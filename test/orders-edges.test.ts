import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/common';
import { orderWorkflowId } from '../src/orders/workflow-api';
import type { OrderWithItems } from '../src/orders/types';
import { startTestSystem, type TestSystem } from './support/system';

// No money lost at the edges: ids in any letter case, reused idempotency keys, odd wire input,
// and orders whose workflow was closed behind the service's back.

let system: TestSystem;
let lamp: { id: number };
let desk: { id: number };

beforeAll(async () => {
  system = await startTestSystem();
  lamp = await system.nest.send('products.create', { name: 'Lamp', price: 25 });
  desk = await system.nest.send('products.create', { name: 'Desk', price: 150 });
});

afterAll(async () => {
  await system?.stop();
});

const place = async (items: unknown, extra: Record<string, unknown> = {}): Promise<OrderWithItems> =>
  (await system.client.place(items, extra)).order;

/** A raw NATS request, so a reply that does not echo the caller's id is seen rather than timing out. */
async function rawRequest(subject: string, body: unknown): Promise<Record<string, unknown>> {
  const reply = await system.nats.request(subject, Buffer.from(JSON.stringify(body)), { timeout: 5_000 });
  return JSON.parse(Buffer.from(reply.data).toString()) as Record<string, unknown>;
}

describe('order ids in upper case', () => {
  it('find, pay and change the same order, with no second workflow', async () => {
    const order = await place([{ productId: lamp.id, quantity: 1 }]);
    const upper = order.id.toUpperCase();

    expect((await system.nest.send<OrderWithItems>('orders.find.one', { id: upper })).id).toBe(order.id);

    await system.client.pay(upper);
    await system.client.waitForStatus(order.id, 'PAID');
    await expect(system.temporal.workflow.getHandle(orderWorkflowId(upper)).describe()).rejects.toBeInstanceOf(
      WorkflowNotFoundError,
    );

    const delivered = await system.nest.send<OrderWithItems>('orders.change.status', {
      id: upper,
      status: 'DELIVERED',
    });
    expect(delivered).toMatchObject({ id: order.id, status: 'DELIVERED' });
    expect((await system.orders.findOrder(order.id))?.status).toBe('DELIVERED');
  });
});

describe('idempotencyKey', () => {
  it('returns the same order for the same items in any order and merged, and a 422 naming the key for others', async () => {
    const key = `edges-${randomUUID()}`;
    const first = await place(
      [
        { productId: lamp.id, quantity: 2 },
        { productId: desk.id, quantity: 1 },
      ],
      { idempotencyKey: key },
    );
    const same = await place(
      [
        { productId: desk.id, quantity: 1 },
        { productId: lamp.id, quantity: 1 },
        { productId: lamp.id, quantity: 1 },
      ],
      { idempotencyKey: key },
    );
    expect(same.id).toBe(first.id);

    const error = await system.nest.sendExpectingError('orders.create', {
      items: [{ productId: lamp.id, quantity: 3 }],
      idempotencyKey: key,
    });
    expect(error.status).toBe(422);
    expect(error.message).toContain(key);
  });

  it('refuses one of two concurrent requests with one key and different items', async () => {
    const key = `edges-race-${randomUUID()}`;
    const outcomes = await Promise.allSettled([
      place([{ productId: lamp.id, quantity: 1 }], { idempotencyKey: key }),
      place([{ productId: desk.id, quantity: 1 }], { idempotencyKey: key }),
    ]);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ status: 422 });
  });
});

describe('wire edge cases', () => {
  it('reads an envelope without data as one with no payload and echoes its id in a 400', async () => {
    // What a NestJS ClientProxy sends for send('orders.find.one', undefined).
    const reply = await rawRequest('orders.find.one', { pattern: 'orders.find.one', id: 'caller-7' });
    expect(reply).toMatchObject({
      id: 'caller-7',
      isDisposed: true,
      err: { status: 400, message: ['id is required'] },
    });
  });

  it('answers a page far past the last with an empty page, not a 500', async () => {
    const page = await system.nest.send<{ data: unknown[]; meta: { page: number } }>('orders.find.all', {
      page: 1e300,
    });
    expect(page.data).toEqual([]);
  });

  it('ignores a price in the items whatever its value', async () => {
    const order = await place([{ productId: lamp.id, quantity: 1, price: -5 }]);
    expect(order.totalAmount).toBe(25);
  });

  it('gives a numeric-looking string productId back as that string, and an integer as an integer', async () => {
    const order = await place([
      { productId: String(lamp.id), quantity: 1 },
      { productId: desk.id, quantity: 1 },
    ]);
    expect(order.OrderItems.map((item) => item.productId)).toEqual([String(lamp.id), desk.id]);
    const found = await system.nest.send<OrderWithItems>('orders.find.one', { id: order.id });
    expect(found.OrderItems.map((item) => item.productId)).toEqual([String(lamp.id), desk.id]);
  });
});

describe('an order whose workflow was closed', () => {
  it('still changes status: the workflow is resumed from PostgreSQL', async () => {
    const order = await place([{ productId: desk.id, quantity: 1 }]);
    await system.client.pay(order.id);
    await system.client.waitForStatus(order.id, 'PAID');
    const handle = system.temporal.workflow.getHandle(orderWorkflowId(order.id));
    await handle.terminate('closed by an operator');

    const delivered = await system.nest.send<OrderWithItems>('orders.change.status', {
      id: order.id,
      status: 'DELIVERED',
    });
    expect(delivered).toMatchObject({ id: order.id, status: 'DELIVERED' });
    expect((await system.orders.findOrder(order.id))?.status).toBe('DELIVERED');
    // The Web UI says why this run exists.
    const resumed = await handle.describe();
    expect(await resumed.staticSummary()).toBe(`Order ${order.id}: resumed for a change to DELIVERED`);
    expect(await resumed.staticDetails()).toContain('**Status when resumed:** PAID');
  });
});
