import { z } from 'zod';
import type { RequestHandler } from '../nats/nest-transport';
import { RpcError } from '../rpc-error';
import { PRODUCTS_SUBJECTS } from '../nats/subjects';
import { validatePayload } from '../nats/validate-payload';
import type { Product, ProductPage, ProductsRepository } from './products-repository';

/** Request handlers of the products service, one per subject, validating with zod. */

const ID_MESSAGE = 'must be a positive integer or a numeric string';

/** Ids arrive as numbers from most peers and as strings from gateways that pass route params on. */
const productId = z.preprocess(
  (value) => (typeof value === 'string' && /^[1-9]\d{0,14}$/.test(value) ? Number(value) : value),
  z.number(ID_MESSAGE).int(ID_MESSAGE).positive(ID_MESSAGE).max(Number.MAX_SAFE_INTEGER, ID_MESSAGE),
);

const REQUESTED_ID_MESSAGE = 'must be a positive integer or a non-empty string of at most 64 characters';

/**
 * validate_products takes ids as orders accept them (the gateway passes them on): a positive integer or any
 * short string. A string that is not a number names no product of this catalogue, so it is simply
 * absent from the answer (the caller reports it as unknown); only malformed ids are a 400.
 */
const requestedId = z
  .union(
    [
      z
        .number(REQUESTED_ID_MESSAGE)
        .int(REQUESTED_ID_MESSAGE)
        .positive(REQUESTED_ID_MESSAGE)
        .max(Number.MAX_SAFE_INTEGER, REQUESTED_ID_MESSAGE),
      z.string(REQUESTED_ID_MESSAGE).trim().min(1, REQUESTED_ID_MESSAGE).max(64, REQUESTED_ID_MESSAGE),
    ],
    REQUESTED_ID_MESSAGE,
  )
  .transform((id) => (typeof id === 'number' ? id : /^[1-9]\d{0,14}$/.test(id) ? Number(id) : null));

const validateSchema = z.array(requestedId, 'must be an array of product ids').max(1_000, 'must hold at most 1000 ids');

const createSchema = z.strictObject({
  name: z.string('must be a string').trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  price: z
    .number('must be a number')
    .nonnegative('must not be negative')
    // numeric(12,2): ten integer digits.
    .max(9_999_999_999.99, 'must be less than 10000000000')
    // Compared as the two-decimal number itself: price * 100 drifts by more than any tolerance
    // near the limit (1234567890.12 * 100 is 123456789012.00002).
    .refine((price) => Number(price.toFixed(2)) === price, 'must have at most 2 decimal places'),
});

/**
 * Page numbers may come as query-string text from a gateway. Not zod 4's `.int()`, which stops at
 * its issue and calls 1e300 no integer: that is a page `must be at most` the bound.
 */
const positiveInt = (max: number) =>
  z.preprocess(
    (value) => (typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value),
    z
      .number('must be an integer')
      .refine(Number.isInteger, 'must be an integer')
      .min(1, 'must be at least 1')
      .max(max, `must be at most ${max}`),
  );

const findAllSchema = z
  .strictObject({ page: positiveInt(1_000_000_000).default(1), limit: positiveInt(100).default(10) })
  .nullish()
  .transform((query) => query ?? { page: 1, limit: 10 });

const findOneSchema = z.strictObject({ id: productId });

export function createProductHandlers(
  repository: ProductsRepository,
  validateSubject: string,
): Record<string, RequestHandler> {
  return {
    async [validateSubject](payload): Promise<Product[]> {
      const ids = validatePayload(validateSchema, payload, 'ids').filter((id): id is number => id !== null);
      return repository.findAvailable([...new Set(ids)]);
    },

    async [PRODUCTS_SUBJECTS.create](payload): Promise<Product> {
      return repository.create(validatePayload(createSchema, payload));
    },

    async [PRODUCTS_SUBJECTS.findAll](payload): Promise<ProductPage> {
      return repository.list(validatePayload(findAllSchema, payload));
    },

    async [PRODUCTS_SUBJECTS.findOne](payload): Promise<Product> {
      const { id } = validatePayload(findOneSchema, payload);
      const product = await repository.findOne(id);
      if (product === null) throw new RpcError(404, `Product with id ${id} not found`);
      return product;
    },
  };
}
