import { RpcError } from '../../src/rpc-error';
import { orderIdFor } from '../../src/gateway/order-id';
import {
  changeOrderStatusSchema,
  createOrderSchema,
  findAllOrdersSchema,
  mergeItems,
  parsePayload,
} from '../../src/gateway/validation';

function problems(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(RpcError);
    expect((error as RpcError).status).toBe(400);
    return (error as RpcError).detail as string[];
  }
  throw new Error('expected a 400');
}

describe('create order payload', () => {
  it('accepts string and integer product ids and ignores the price', () => {
    const parsed = parsePayload(createOrderSchema, {
      items: [
        { productId: 'sku-1', quantity: 1, price: 5 },
        { productId: 2, quantity: 3 },
      ],
      idempotencyKey: 'k1',
    });
    // The caller's price never reaches the order: the lines handed on carry ids and quantities only.
    expect(mergeItems(parsed.items)).toEqual([
      { productId: 'sku-1', quantity: 1 },
      { productId: 2, quantity: 3 },
    ]);
  });

  it('names every bad field, one line each', () => {
    const lines = problems(() =>
      parsePayload(createOrderSchema, {
        items: [
          { productId: '', quantity: 0 },
          { productId: 1.5, quantity: 'two' },
        ],
        extra: true,
      }),
    );
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringContaining('items.0.productId'),
        expect.stringContaining('items.0.quantity'),
        expect.stringContaining('items.1.productId'),
        expect.stringContaining('items.1.quantity'),
        'property extra should not exist',
      ]),
    );
  });

  it('bounds the number of items, quantities and key lengths', () => {
    expect(problems(() => parsePayload(createOrderSchema, { items: [] }))).toEqual([
      'items must contain at least 1 item',
    ]);
    const many = Array.from({ length: 101 }, (_, i) => ({ productId: i + 1, quantity: 1 }));
    expect(problems(() => parsePayload(createOrderSchema, { items: many }))).toEqual([
      'items must contain at most 100 items',
    ]);
    expect(problems(() => parsePayload(createOrderSchema, { items: [{ productId: 1, quantity: 10_001 }] }))).toEqual([
      'items.0.quantity must be at most 10000',
    ]);
    expect(
      problems(() => parsePayload(createOrderSchema, { items: [{ productId: 'x'.repeat(65), quantity: 1 }] }))[0],
    ).toContain('items.0.productId');
    expect(
      problems(() =>
        parsePayload(createOrderSchema, { items: [{ productId: 1, quantity: 1 }], idempotencyKey: 'k'.repeat(129) }),
      ),
    ).toEqual(['idempotencyKey must be at most 128 characters']);
  });

  it('gives each problem of a value its own line, and names a missing value as required', () => {
    expect(
      problems(() =>
        parsePayload(createOrderSchema, {
          items: [{ productId: -1.5, quantity: -1.5 }, { productId: null }, { productId: 2 ** 53, quantity: 1.5 }],
        }),
      ),
    ).toEqual([
      'items.0.productId must be an integer',
      'items.0.productId must be positive',
      'items.0.quantity must be an integer',
      'items.0.quantity must be positive',
      'items.1.productId must be a non-empty string or a positive integer',
      'items.1.quantity is required',
      'items.2.productId must be at most 9007199254740991',
      'items.2.quantity must be an integer',
    ]);
    expect(problems(() => parsePayload(createOrderSchema, { items: [{}] }))).toEqual([
      'items.0.productId is required',
      'items.0.quantity is required',
    ]);
    expect(problems(() => parsePayload(changeOrderStatusSchema, {}))).toEqual(['id is required', 'status is required']);
    expect(problems(() => parsePayload(changeOrderStatusSchema, { id: 42, status: 'PAID' }))).toEqual([
      'id must be a string',
    ]);
  });

  it('refuses a payload that is not an object', () => {
    expect(problems(() => parsePayload(createOrderSchema, 'hello'))).toEqual(['payload must be an object']);
    expect(problems(() => parsePayload(createOrderSchema, [1, 2]))).toEqual(['payload must be an object']);
  });

  it('merges the same product into one line, within the quantity limit', () => {
    expect(
      mergeItems([
        { productId: 1, quantity: 2 },
        { productId: '2', quantity: 1 },
        { productId: 1, quantity: 3 },
      ]),
    ).toEqual([
      { productId: 1, quantity: 5 },
      { productId: '2', quantity: 1 },
    ]);
    expect(() =>
      mergeItems([
        { productId: 1, quantity: 6000 },
        { productId: 1, quantity: 6000 },
      ]),
    ).toThrow(RpcError);
  });
});

describe('other payloads', () => {
  it('defaults and bounds pagination', () => {
    expect(parsePayload(findAllOrdersSchema, undefined)).toEqual({ page: 1, limit: 10 });
    expect(parsePayload(findAllOrdersSchema, { page: '2', limit: 5, status: 'PAID' })).toEqual({
      page: 2,
      limit: 5,
      status: 'PAID',
    });
    expect(problems(() => parsePayload(findAllOrdersSchema, { page: 0, limit: 101, status: 'LOST' }))).toEqual([
      'page must be at least 1',
      'limit must be at most 100',
      'status must be one of PENDING, PAID, DELIVERED, CANCELLED',
    ]);
  });

  it('takes any UUID PostgreSQL takes, in lower case', () => {
    // Any 8-4-4-4-12 hex id, as before zod 4 (whose z.uuid() also checks the RFC 9562 version bits).
    expect(
      parsePayload(changeOrderStatusSchema, { id: 'ABCDEF00-0000-0000-0000-000000000001', status: 'PAID' }),
    ).toEqual({ id: 'abcdef00-0000-0000-0000-000000000001', status: 'PAID' });
  });

  it('requires a UUID and a known status to change an order', () => {
    expect(problems(() => parsePayload(changeOrderStatusSchema, { id: '42', status: 'SHIPPED' }))).toEqual([
      'id must be a UUID',
      'status must be one of PENDING, PAID, DELIVERED, CANCELLED',
    ]);
  });
});

describe('order ids', () => {
  it('derives the same UUID from the same idempotency key, a different one otherwise', () => {
    const id = orderIdFor('order-key-1');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(orderIdFor('order-key-1')).toBe(id);
    expect(orderIdFor('order-key-2')).not.toBe(id);
    expect(orderIdFor(undefined)).not.toBe(orderIdFor(undefined));
  });
});
