import { z } from 'zod';
import { validatePayload } from '../nats/validate-payload';
import { FailureType } from '../orders/errors';
import { ORDER_STATUSES, type RequestedItem } from '../orders/types';
import { toWireError } from './wire-errors';

/** Payload schemas of the subjects the gateway answers: the NestJS orders service's, so its callers need no change. */

// A missing value reads `is required` whatever a schema says (nats/validate-payload.ts). Integers
// are checked with a refinement, not zod 4's `.int()`, which stops at its issue (each problem gets
// its line: -1.5 is not an integer and not positive) and refuses integers beyond 2^53 (a page of
// 1e300 is an empty page).
const productId = z.union(
  [
    z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters'),
    z
      .number()
      .refine(Number.isInteger, 'must be an integer')
      .positive('must be positive')
      .max(Number.MAX_SAFE_INTEGER, `must be at most ${Number.MAX_SAFE_INTEGER}`),
  ],
  'must be a non-empty string or a positive integer',
);

const quantity = z
  .number('must be a number')
  .refine(Number.isInteger, 'must be an integer')
  .positive('must be positive')
  .max(10_000, 'must be at most 10000');

export const MAX_QUANTITY_PER_PRODUCT = 10_000;

export const createOrderSchema = z.strictObject({
  items: z
    .array(
      z.strictObject({
        productId,
        quantity,
        // Accepted for compatibility and ignored whatever its value (NestJS gateways forward
        // client prices): the products service's price is charged.
        price: z.unknown().optional(),
      }),
      'must be an array',
    )
    .min(1, 'must contain at least 1 item')
    .max(100, 'must contain at most 100 items'),
  idempotencyKey: z
    .string('must be a string')
    .min(1, 'must not be empty')
    .max(128, 'must be at most 128 characters')
    .optional(),
});

/**
 * An order id from the outside: a UUID in any letter case, normalised to lower case here, once,
 * so every lookup, workflow id and payment signal downstream sees the one spelling we store.
 */
export const orderIdSchema = z
  // z.guid: any 8-4-4-4-12 hex id, as PostgreSQL's uuid type takes (z.uuid also checks the RFC 9562 version).
  .guid({ error: (issue) => (issue.code === 'invalid_type' ? 'must be a string' : 'must be a UUID') })
  .transform((id) => id.toLowerCase());

// Gateways often forward query strings, so page and limit may arrive as digit strings.
const integerLike = z.union(
  [
    z.number(),
    z
      .string()
      .regex(/^\d{1,9}$/)
      .transform(Number),
  ],
  'must be an integer',
);

const orderStatus = z.enum(ORDER_STATUSES, `must be one of ${ORDER_STATUSES.join(', ')}`);

export const findAllOrdersSchema = z.strictObject({
  page: integerLike
    .pipe(z.number().refine(Number.isInteger, 'must be an integer').min(1, 'must be at least 1'))
    .default(1),
  limit: integerLike
    .pipe(
      z
        .number()
        .refine(Number.isInteger, 'must be an integer')
        .min(1, 'must be at least 1')
        .max(100, 'must be at most 100'),
    )
    .default(10),
  status: orderStatus.optional(),
});

export const findOneOrderSchema = z.strictObject({ id: orderIdSchema });

export const changeOrderStatusSchema = z.strictObject({ id: orderIdSchema, status: orderStatus });

/** Parses a payload or throws a 400 with one line per problem, each naming its field. */
export function parsePayload<S extends z.ZodType>(schema: S, payload: unknown): z.output<S> {
  return validatePayload(schema, payload ?? {});
}

/** The same product twice becomes one line with the quantities added up. */
export function mergeItems(items: ReadonlyArray<{ productId: string | number; quantity: number }>): RequestedItem[] {
  const merged = new Map<string, RequestedItem>();
  for (const item of items) {
    const key = String(item.productId);
    const line = merged.get(key);
    if (line) line.quantity += item.quantity;
    else merged.set(key, { productId: item.productId, quantity: item.quantity });
  }
  const tooMany = [...merged.values()].filter((line) => line.quantity > MAX_QUANTITY_PER_PRODUCT);
  if (tooMany.length > 0) {
    throw toWireError(
      FailureType.InvalidInput,
      tooMany.map(
        (line) =>
          `items: product ${line.productId} quantity adds up to ${line.quantity}, more than ${MAX_QUANTITY_PER_PRODUCT}`,
      ),
    );
  }
  return [...merged.values()];
}
