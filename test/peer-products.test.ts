import { randomUUID } from 'node:crypto';
import type { Subscription } from '@nats-io/nats-core';
import { encodeJson, MAX_REQUEST_BYTES } from '../src/nats/nest-transport';
import type { OrderWithItems } from '../src/orders/types';
import { startTestSystem, type TestSystem } from './support/system';

/**
 * What a NestJS products service may answer `validate_products` with, which the companion one
 * never does: full product objects (long descriptions, images), and prices so large that their
 * minor units, or an order's total, are beyond exact integers. The first must place the order; the
 * second must refuse it with a 400 naming the product, storing nothing, never a 500 or a wrong total.
 */

// The stand-in products service answers on a subject of this file's own.
const VALIDATE_SUBJECT = `validate_products.test-${randomUUID().slice(0, 8)}`;

interface StubProduct {
  id: number;
  name: string;
  price: number;
  [key: string]: unknown;
}

const catalogue = new Map<number, StubProduct>();
let system: TestSystem;
let sub: Subscription;

beforeAll(async () => {
  system = await startTestSystem({
    PRODUCTS_VALIDATE_SUBJECT: VALIDATE_SUBJECT,
    ORDER_PLACEMENT_TIMEOUT_MS: '3000',
    ORDER_CREATE_TIMEOUT_MS: '10000',
  });
  sub = system.nats.subscribe(VALIDATE_SUBJECT, {
    callback: (_error, msg) => {
      const { id, data } = JSON.parse(Buffer.from(msg.data).toString('utf8')) as { id: string; data: number[] };
      const found = data.flatMap((productId) => catalogue.get(productId) ?? []);
      msg.respond(encodeJson({ id, response: found, isDisposed: true }));
    },
  });
  await system.nats.flush();
});

afterAll(async () => {
  sub?.unsubscribe();
  await system?.stop();
});

const orderCount = async (): Promise<number> =>
  (await system.nest.send<{ meta: { total: number } }>('orders.find.all', {})).meta.total;

let nextId = 1000;
function product(fields: { name: string; price: number; [key: string]: unknown }): StubProduct {
  const stored = { id: (nextId += 1), ...fields };
  catalogue.set(stored.id, stored);
  return stored;
}

it('places an order whose products service answers full product objects larger than the request limit', async () => {
  // Three products of ~40 KiB each: the answer is ~120 KiB, over the 64 KiB limit on requests.
  const big = [1, 2, 3].map((n) =>
    product({
      name: `Poster ${n}`,
      price: 12.5,
      description: 'd'.repeat(20 * 1024),
      images: Array.from({ length: 20 }, (_, i) => `https://img.example/${n}/${i}/${'x'.repeat(1000)}.png`),
      available: true,
    }),
  );
  expect(JSON.stringify(big).length).toBeGreaterThan(MAX_REQUEST_BYTES);
  const placed = await system.nest.send<{ order: OrderWithItems }>('orders.create', {
    items: big.map((p) => ({ productId: p.id, quantity: 2 })),
  });
  expect(placed.order).toMatchObject({ status: 'PENDING', totalAmount: 75, totalItems: 6 });
  expect(placed.order.OrderItems.map((item) => item.name)).toEqual(['Poster 1', 'Poster 2', 'Poster 3']);
});

it('refuses with a 400 naming the product a price whose minor units are beyond exact integers (1e17)', async () => {
  const huge = product({ name: 'Island', price: 1e17 });
  const before = await orderCount();
  const error = await system.nest.sendExpectingError('orders.create', { items: [{ productId: huge.id, quantity: 1 }] });
  expect(error.status).toBe(400);
  expect(error.message).toContain(`Product ${huge.id}`);
  expect(error.message).toContain('costs 100000000000000000 USD');
  expect(await orderCount()).toBe(before);
});

it('refuses with a 400 naming the product a line whose total is beyond exact integers, storing nothing', async () => {
  // 45,035,996,273,704.97 USD is 4,503,599,627,370,497 cents (exact); three of them are not.
  const dear = product({ name: 'Yacht', price: 45_035_996_273_704.97 });
  const cheap = product({ name: 'Rope', price: 3 });
  const before = await orderCount();
  const error = await system.nest.sendExpectingError('orders.create', {
    items: [
      { productId: cheap.id, quantity: 1 },
      { productId: dear.id, quantity: 3 },
    ],
  });
  expect(error.status).toBe(400);
  expect(error.message).toContain(`Product ${dear.id}`);
  expect(error.message).not.toContain(`Product ${cheap.id}`);
  expect(await orderCount()).toBe(before);
});

it('refuses with a 400 an order whose lines are exact but whose total is not', async () => {
  // Each line is 3,100,000,000,000,000 cents; the total of three is over 2^53 - 1.
  const lines = [1, 2, 3].map((n) => product({ name: `Jet ${n}`, price: 31_000_000_000_000 }));
  const before = await orderCount();
  const error = await system.nest.sendExpectingError('orders.create', {
    items: lines.map((p) => ({ productId: p.id, quantity: 1 })),
  });
  expect(error.status).toBe(400);
  expect(error.message).toContain(`The order's total (products ${lines.map((p) => p.id).join(', ')})`);
  expect(await orderCount()).toBe(before);
});

it('products.create keeps two-decimal prices up to its limit, and refuses 1e17 with a 400', async () => {
  for (const price of [1_234_567_890.12, 8_888_888_888.88, 9_999_999_999.99]) {
    await expect(system.nest.send('products.create', { name: 'Dear', price })).resolves.toMatchObject({ price });
  }
  const refused = await system.nest.sendExpectingError('products.create', { name: 'Too dear', price: 1e17 });
  expect(refused.status).toBe(400);
  expect(String(refused.message)).toMatch(/price/);
  const decimals = await system.nest.sendExpectingError('products.create', { name: 'Odd', price: 1_000.125 });
  expect(decimals).toMatchObject({ status: 400, message: ['price must have at most 2 decimal places'] });
});
