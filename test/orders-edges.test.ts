import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/common';
import { orderWorkflowId } from '../src/orders/messages';
import type { OrderWithItems, PaymentSession } from '../src/orders/types';
import { eventually } from './support/eventually';
import { startTestSystem, type TestSystem } from './support/system';

// Issue 8, "no money lost at the edges": ids in any letter case, reused idempotency keys, odd
// wire input, and orders whose workflow was closed behind the service's back.

interface Placed {
  order: OrderWithItems;
  paymentSession: PaymentSession;
}

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
  (await system.nest.send<Placed>('orders.create', { items, ...extra })).order;

const pay = (orderId: string) =>
  system.nest.emit('payment.succeeded', { stripePaymentId: `pi_${randomUUID()}`, orderId, receiptUrl: null });

const waitForStatus = (id: string, status: string) =>
  eventually(async () => expect((await system.orders.findOrder(id))?.status).toBe(status));

describe('order ids in upper case', () => {
  it('find, pay and change the same order, with no second workflow', async () => {
    const order = await place([{ productId: lamp.id, quantity: 1 }]);
    const upper = order.id.toUpperCase();

    expect((await system.nest.send<OrderWithItems>('orders.find.one', { id: upper })).id).toBe(order.id);

    await pay(upper);
    await waitForStatus(order.id, 'PAID');
    await expect(system.temporal.workflow.getHandle(orderWorkflowId(upper)).describe()).rejects.toBeInstanceOf(
      WorkflowNotFoundError,
    );

    const delivered = await system.nest.send<OrderWithItems>('orders.change.status', { id: upper, status: 'DELIVERED' });
    expect(delivered).toMatchObject({ id: order.id, status: 'DELIVERED' });
    expect((await system.orders.findOrder(order.id))?.status).toBe('DELIVERED');
  });
});

describe('idempotencyKey', () => {
  it('returns the same order for the same items in any order and merged, and a 422 naming the key for others', async () => {
    const key = `edges-${randomUUID()}`;
    const first = await place([{ productId: lamp.id, quantity: 2 }, { productId: desk.id, quantity: 1 }], { idempotencyKey: key });
    const same = await place(
      [{ productId: desk.id, quantity: 1 }, { productId: lamp.id, quantity: 1 }, { productId: lamp.id, quantity: 1 }],
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
