import { z } from 'zod';
import { validatePayload } from '../nats/validate-payload';
import { FailureType } from '../orders/errors';
import { ORDER_STATUSES, type RequestedItem } from '../orders/types';
import { toWireError } from './wire-errors';

/** Payload schemas of the subjects the gateway answers: the NestJS orders service's, so its callers need no change. */

const productId = z.union(
  [
    z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters'),
    z.number().int('must be an integer').positive('must be positive').max(Number.MAX_SAFE_INTEGER),
  ],
  {
    errorMap: (_issue, context) => ({
      message: context.data === undefined ? 'is required' : 'must be a non-empty string or a positive integer',
    }),
  },
);

const quantity = z
  .number({ invalid_type_error: 'must be a number', required_error: 'is required' })
  .int('must be an integer')
  .positive('must be positive')
  .max(10_000, 'must be at most 10000');

export const MAX_QUANTITY_PER_PRODUCT = 10_000;

export const createOrderSchema = z
  .object({
    items: z
      .array(
        z
          .object({
            productId,
            quantity,
            // Accepted for compatibility and ignored whatever its value (NestJS gateways forward
            // client prices): the products service's price is charged.
            price: z.unknown().optional(),
          })
          .strict(),
        { invalid_type_error: 'must be an array', required_error: 'is required' },
      )
      .min(1, 'must contain at least 1 item')
      .max(100, 'must contain at most 100 items'),
    idempotencyKey: z
      .string({ invalid_type_error: 'must be a string' })
      .min(1, 'must not be empty')
      .max(128, 'must be at most 128 characters')
      .optional(),
  })
  .strict();

/**
 * An order id from the outside: a UUID in any letter case, normalised to lower case here, once,
 * so every lookup, workflow id and payment signal downstream sees the one spelling we store.
 */
export const orderIdSchema = z
  .string({ invalid_type_error: 'must be a string', required_error: 'is required' })
  .uuid('must be a UUID')
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
  {
    errorMap: () => ({ message: 'must be an integer' }),
  },
);

export const findAllOrdersSchema = z
  .object({
    page: integerLike.pipe(z.number().int('must be an integer').min(1, 'must be at least 1')).default(1),
    limit: integerLike
      .pipe(z.number().int('must be an integer').min(1, 'must be at least 1').max(100, 'must be at most 100'))
      .default(10),
    status: z
      .enum(ORDER_STATUSES, { errorMap: () => ({ message: `must be one of ${ORDER_STATUSES.join(', ')}` }) })
      .optional(),
  })
  .strict();

export const findOneOrderSchema = z.object({ id: orderIdSchema }).strict();

export const changeOrderStatusSchema = z
  .object({
    id: orderIdSchema,
    status: z.enum(ORDER_STATUSES, {
      errorMap: () => ({ message: `must be one of ${ORDER_STATUSES.join(', ')}` }),
    }),
  })
  .strict();

/** Parses a payload or throws a 400 with one line per problem, each naming its field. */
export function parsePayload<S extends z.ZodTypeAny>(schema: S, payload: unknown): z.output<S> {
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
