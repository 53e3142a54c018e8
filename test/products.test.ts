import type { NatsConnection } from '@nats-io/nats-core';
import { sql } from 'slonik';
import { z } from 'zod';
import { parseConfig, type Config } from '../src/config';
import { createDatabasePool, type DatabasePool } from '../src/db/pool';
import { createLogger } from '../src/logger';
import { connectNats } from '../src/nats/connection';
import { requestPeer } from '../src/nats/nest-transport';
import { RpcError } from '../src/rpc-error';
import type { Product } from '../src/products/products-repository';
import { DEMO_PRODUCTS, seedProducts } from '../src/products/seed';
import { startProductsService, type ProductsService } from '../src/products/service';
import { connectNestClient, type NestClient } from './support/nest-client';

/** The products companion against real NATS and PostgreSQL, through its NATS subjects. */

let config: Config;
let nats: NatsConnection;
let pool: DatabasePool;
let service: ProductsService;
let nest: NestClient;

beforeAll(async () => {
  config = parseConfig(process.env);
  nats = await connectNats(config.nats, 'products-test');
  pool = await createDatabasePool(config.databaseUrl);
  service = await startProductsService({
    nats,
    pool,
    logger: createLogger('products-test', 'silent'),
    config,
  });
  nest = await connectNestClient(config.nats.url);
});

afterAll(async () => {
  await nest?.close();
  await service?.stop();
  await nats?.drain();
  await pool?.end();
});

const request = <T>(subject: string, data: unknown): Promise<T> =>
  requestPeer<T>(nats, subject, data, config.nats.requestTimeoutMs);

/** The error a request is answered with; fails the test if it succeeds. */
async function requestError(subject: string, data: unknown): Promise<{ status: number; message: string | string[] }> {
  try {
    const response = await request(subject, data);
    throw new Error(`${subject} answered ${JSON.stringify(response)} where an error was expected`);
  } catch (error) {
    if (!(error instanceof RpcError)) throw error;
    return { status: error.status, message: error.detail };
  }
}

let nameCounter = 0;
const uniqueName = (label: string): string => `${label} ${process.pid}-${Date.now()}-${++nameCounter}`;

const createProduct = (name: string, price: number): Promise<Product> =>
  request<Product>('products.create', { name, price });

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

// First, so that on a fresh database it is the seed that inserts products 1 to 8.
describe('demo seed', () => {
  const snapshot = () =>
    pool.any(sql.type(z.object({ id: z.number(), name: z.string(), price: z.number(), updated_at: z.number() }))`
      SELECT id, name, price, updated_at FROM products WHERE id BETWEEN 1 AND 8 ORDER BY id`);

  it('puts products 1 to 8 in place once; a second run changes nothing', async () => {
    // What the seed reports is checked against the table: the ids it found are those there before
    // it ran (left as they were), the ids it inserted are the others.
    const before = await snapshot();
    const presentBefore = before.map((row) => row.id);
    const first = await seedProducts(pool);
    expect([...first.alreadyPresent].sort((a, b) => a - b)).toEqual(presentBefore);
    expect([...first.inserted].sort((a, b) => a - b)).toEqual(
      [1, 2, 3, 4, 5, 6, 7, 8].filter((id) => !presentBefore.includes(id)),
    );
    const afterFirst = await snapshot();
    expect(afterFirst.filter((row) => presentBefore.includes(row.id))).toEqual(before);
    expect(afterFirst.map((row) => row.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const id of first.inserted) {
      const demo = DEMO_PRODUCTS.find((product) => product.id === id);
      await expect(request('products.find.one', { id })).resolves.toMatchObject({
        name: demo?.name,
        price: demo?.price,
      });
    }

    const second = await seedProducts(pool);
    expect(second).toEqual({ inserted: [], alreadyPresent: [1, 2, 3, 4, 5, 6, 7, 8] });
    await expect(snapshot()).resolves.toEqual(afterFirst);

    // The identity sequence moved past the seeded ids: a new product does not collide.
    const created = await createProduct(uniqueName('After seed'), 1);
    expect(created.id).toBeGreaterThan(8);
  });
});

describe('products.create and products.find.one', () => {
  it('creates a product and finds it by numeric and string id', async () => {
    const name = uniqueName('Walnut desk');
    const created = await createProduct(name, 349.5);
    expect(created).toEqual({
      id: expect.any(Number),
      name,
      price: 349.5,
      available: true,
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
    });
    expect(Math.abs(Date.parse(created.createdAt) - Date.now())).toBeLessThan(60_000);

    await expect(request('products.find.one', { id: created.id })).resolves.toEqual(created);
    await expect(request('products.find.one', { id: String(created.id) })).resolves.toEqual(created);
  });

  it('keeps prices exact to the cent', async () => {
    const created = await createProduct(uniqueName('Cable'), 0.1);
    const stored = await pool.oneFirst(sql.type(z.object({ price: z.string() }))`
      SELECT price::text AS price FROM products WHERE id = ${created.id}`);
    expect(created.price).toBe(0.1);
    expect(stored).toBe('0.10');
  });

  it('refuses a bad product with one line per problem, naming the field', async () => {
    await expect(requestError('products.create', { name: '', price: -1, colour: 'red' })).resolves.toEqual({
      status: 400,
      message: ['name must not be empty', 'price must not be negative', 'property colour should not exist'],
    });
    await expect(requestError('products.create', {})).resolves.toEqual({
      status: 400,
      message: ['name is required', 'price is required'],
    });
    await expect(requestError('products.create', { name: 'Pen', price: 1.005 })).resolves.toEqual({
      status: 400,
      message: ['price must have at most 2 decimal places'],
    });
    await expect(requestError('products.create', { name: 42, price: '12' })).resolves.toEqual({
      status: 400,
      message: ['name must be a string', 'price must be a number'],
    });
  });

  it('answers 404 for an unknown id and 400 for a malformed one', async () => {
    await expect(requestError('products.find.one', { id: 987_654_321 })).resolves.toEqual({
      status: 404,
      message: 'Product with id 987654321 not found',
    });
    // Larger than the id column can hold: cannot exist, so not found rather than a database error.
    await expect(requestError('products.find.one', { id: 99_999_999_999 })).resolves.toMatchObject({ status: 404 });
    await expect(requestError('products.find.one', { id: 'abc' })).resolves.toEqual({
      status: 400,
      message: ['id must be a positive integer or a numeric string'],
    });
    await expect(requestError('products.find.one', { id: 0 })).resolves.toEqual({
      status: 400,
      message: ['id must be a positive integer or a numeric string'],
    });
    await expect(requestError('products.find.one', {})).resolves.toEqual({ status: 400, message: ['id is required'] });
  });
});

describe('products.find.all', () => {
  const availableCount = (): Promise<number> =>
    pool.oneFirst(
      sql.type(z.object({ count: z.number() }))`SELECT count(*)::int AS count FROM products WHERE available`,
    );

  beforeAll(async () => {
    // Enough products for several pages of 2, whatever other tests left behind.
    for (let i = 0; i < 5; i += 1) await createProduct(uniqueName('Notebook'), 3 + i);
  });

  it('pages through the available products by id, with meta', async () => {
    const total = await availableCount();
    const limit = 2;
    const lastPage = Math.ceil(total / limit);
    const seen: number[] = [];
    for (let page = 1; page <= lastPage; page += 1) {
      const result = await request<{ data: Product[]; meta: unknown }>('products.find.all', { page, limit });
      expect(result.meta).toEqual({ total, page, lastPage });
      expect(result.data).toHaveLength(page < lastPage ? limit : total - (lastPage - 1) * limit);
      seen.push(...result.data.map((product) => product.id));
    }
    expect(seen).toHaveLength(total);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(new Set(seen).size).toBe(total);

    const beyond = await request<{ data: Product[]; meta: unknown }>('products.find.all', {
      page: lastPage + 1,
      limit,
    });
    expect(beyond).toEqual({ data: [], meta: { total, page: lastPage + 1, lastPage } });
  });

  it('defaults to page 1 of 10 and accepts numbers as strings', async () => {
    const total = await availableCount();
    const defaults = await request<{ data: Product[]; meta: unknown }>('products.find.all', {});
    expect(defaults.meta).toEqual({ total, page: 1, lastPage: Math.ceil(total / 10) });
    expect(defaults.data).toHaveLength(Math.min(total, 10));

    const asText = await request<{ data: Product[]; meta: unknown }>('products.find.all', { page: '2', limit: '3' });
    expect(asText.meta).toEqual({ total, page: 2, lastPage: Math.ceil(total / 3) });
    const all = await request<{ data: Product[] }>('products.find.all', { limit: 100 });
    expect(asText.data).toEqual(all.data.slice(3, 6));
  });

  it('refuses bad pagination, naming the field', async () => {
    await expect(requestError('products.find.all', { page: 0, limit: 101 })).resolves.toEqual({
      status: 400,
      message: ['page must be at least 1', 'limit must be at most 100'],
    });
    await expect(requestError('products.find.all', { page: 1.5, limit: 'ten' })).resolves.toEqual({
      status: 400,
      message: ['page must be an integer', 'limit must be an integer'],
    });
    await expect(requestError('products.find.all', { status: 'PAID' })).resolves.toEqual({
      status: 400,
      message: ['property status should not exist'],
    });
  });
});

describe('validate_products', () => {
  let first: Product;
  let second: Product;
  let withdrawn: Product;

  beforeAll(async () => {
    first = await createProduct(uniqueName('Lamp'), 19.99);
    second = await createProduct(uniqueName('Chair'), 120);
    withdrawn = await createProduct(uniqueName('Old model'), 5);
    await pool.query(sql.unsafe`UPDATE products SET available = false WHERE id = ${withdrawn.id}`);
  });

  it('returns the available products asked for, in order, once each; others are absent', async () => {
    const found = await request<Product[]>(config.subjects.validateProducts, [
      second.id,
      String(first.id),
      withdrawn.id,
      987_654_321,
      second.id,
    ]);
    expect(found).toEqual([second, first]);
    await expect(request(config.subjects.validateProducts, [])).resolves.toEqual([]);
  });

  it('treats a string id that is not a number as a product that does not exist', async () => {
    // Orders accept any short string as a product id; this catalogue only has integer ids.
    await expect(request(config.subjects.validateProducts, ['no-such-sku', String(first.id), ' 7x '])).resolves.toEqual(
      [first],
    );
  });

  it('refuses a payload that is not an array of ids, naming each bad id', async () => {
    await expect(requestError(config.subjects.validateProducts, { ids: [first.id] })).resolves.toEqual({
      status: 400,
      message: ['ids must be an array of product ids'],
    });
    const message = 'must be a positive integer or a non-empty string of at most 64 characters';
    await expect(
      requestError(config.subjects.validateProducts, [first.id, 'abc', -2, 1.5, '', null, 'x'.repeat(65), { id: 1 }]),
    ).resolves.toEqual({
      status: 400,
      message: [2, 3, 4, 5, 6, 7].map((index) => `ids.${index} ${message}`),
    });
  });

  it('speaks the NestJS wire format: a real NestJS ClientProxy gets the same answers', async () => {
    await expect(nest.send(config.subjects.validateProducts, [first.id, second.id])).resolves.toEqual([first, second]);
    await expect(nest.send('products.find.one', { id: first.id })).resolves.toEqual(first);
    await expect(nest.sendExpectingError('products.find.one', { id: 987_654_321 })).resolves.toEqual({
      status: 404,
      message: 'Product with id 987654321 not found',
    });
    await expect(nest.sendExpectingError(config.subjects.validateProducts, 'not a list')).resolves.toEqual({
      status: 400,
      message: ['ids must be an array of product ids'],
    });
  });
});
