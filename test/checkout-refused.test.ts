import { randomUUID } from 'node:crypto';
import { orderWorkflowId } from '../src/orders/workflow-api';
import type { OrderWithItems } from '../src/orders/types';
import { startTestSystem, type TestSystem } from './support/system';

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem({ ORDER_LATE_PAYMENT_GRACE_MS: '200' });
});

afterAll(async () => {
  await system?.stop();
});

const productPriced = (price: number): Promise<{ id: number }> =>
  system.nest.send('products.create', { name: `Priced ${price}`, price });

const orderIdIn = (message: string | string[]): string => String(message).match(/order ([0-9a-f-]{36})/)?.[1] ?? '';

describe('a checkout the payments service or Stripe refuses for good', () => {
  it('answers 422 naming the reason (under the minimum charge), cancels the order, and answers the same to a retry', async () => {
    const pin = await productPriced(0.1);
    const request = { items: [{ productId: pin.id, quantity: 2 }], idempotencyKey: `refused-${randomUUID()}` };
    const error = await system.nest.sendExpectingError('orders.create', request);
    expect(error.status).toBe(422);
    expect(error.message).toMatch(
      /^The checkout for order [0-9a-f-]{36} was refused: .*under Stripe's minimum charge of 50.*; the order was cancelled$/,
    );
    const orderId = orderIdIn(error.message);
    expect(await system.nest.send<OrderWithItems>('orders.find.one', { id: orderId })).toMatchObject({
      status: 'CANCELLED',
    });

    // While the workflow still runs, and after it has closed: the same 422, never a 409 or a 503.
    expect(await system.nest.sendExpectingError('orders.create', request)).toEqual(error);
    await system.temporal.workflow.getHandle(orderWorkflowId(orderId)).result();
    expect(await system.nest.sendExpectingError('orders.create', request)).toEqual(error);
  });

  it('answers 422 for a total over the maximum the payments service accepts', async () => {
    const yacht = await productPriced(2_000_000);
    const error = await system.nest.sendExpectingError('orders.create', {
      items: [{ productId: yacht.id, quantity: 1 }],
    });
    expect(error.status).toBe(422);
    expect(error.message).toMatch(
      /^The checkout for order [0-9a-f-]{36} was refused: .*over Stripe's maximum charge of 99999999.*; the order was cancelled$/,
    );
    expect(await system.nest.send<OrderWithItems>('orders.find.one', { id: orderIdIn(error.message) })).toMatchObject({
      status: 'CANCELLED',
    });
  });
});
