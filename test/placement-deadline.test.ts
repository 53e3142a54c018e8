import { orderWorkflowId } from '../src/orders/workflow-api';
import type { OrderWithItems } from '../src/orders/types';
import { startTestSystem, type TestSystem } from './support/system';

// The caller waits 4 s; placement alone would retry an unavailable peer for a minute.
const CREATE_TIMEOUT_MS = 4_000;

let system: TestSystem;
let product: { id: number };

beforeAll(async () => {
  system = await startTestSystem({
    ORDER_CREATE_TIMEOUT_MS: String(CREATE_TIMEOUT_MS),
    ORDER_PLACEMENT_TIMEOUT_MS: '60000',
    ORDER_LATE_PAYMENT_GRACE_MS: '200',
  });
  product = await system.nest.send('products.create', { name: 'Stool', price: 25 });
});

afterAll(async () => {
  await system?.stop();
});

const orderIdIn = (message: string | string[]): string =>
  (String(message).match(/Order ([0-9a-f-]{36})/)?.[1] ?? '') as string;

it('ends a keyless create at the caller deadline and cancels what it stored', async () => {
  await system.stopPart('payments');
  const startedAt = Date.now();
  const error = await system.nest.sendExpectingError('orders.create', {
    items: [{ productId: product.id, quantity: 1 }],
  });
  expect(error.status).toBe(503);
  expect(error.message).toMatch(
    new RegExp(`^Order [0-9a-f-]{36} could not be placed within ${CREATE_TIMEOUT_MS} ms; nothing was kept, retry$`),
  );
  expect(Date.now() - startedAt).toBeLessThan(CREATE_TIMEOUT_MS + 1_000);
  const orderId = orderIdIn(error.message);
  // The order was stored before the checkout failed: by the time the caller hears, it is cancelled.
  expect(await system.nest.send<OrderWithItems>('orders.find.one', { id: orderId })).toMatchObject({
    status: 'CANCELLED',
  });
  expect(await system.temporal.workflow.getHandle(orderWorkflowId(orderId)).result()).toBe('CANCELLED');
});

it('stores nothing for a keyless create whose products cannot be priced in time', async () => {
  await system.stopPart('products');
  const before = (await system.nest.send<{ meta: { total: number } }>('orders.find.all', {})).meta.total;
  const error = await system.nest.sendExpectingError('orders.create', {
    items: [{ productId: product.id, quantity: 1 }],
  });
  expect(error.status).toBe(503);
  expect(error.message).toMatch(/could not be placed within 4000 ms; nothing was kept, retry$/);
  expect(await system.temporal.workflow.getHandle(orderWorkflowId(orderIdIn(error.message))).result()).toBe('REJECTED');
  expect((await system.nest.send<{ meta: { total: number } }>('orders.find.all', {})).meta.total).toBe(before);
});
