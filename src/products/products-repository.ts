import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';

/** PostgreSQL access for the products catalogue of the companion products service. */

/** A product as it travels on the wire (price in currency units, times as ISO strings). */
export interface Product {
  id: number;
  name: string;
  price: number;
  available: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface NewProduct {
  name: string;
  price: number;
}

export interface ProductPage {
  data: Product[];
  meta: { total: number; page: number; lastPage: number };
}

/** The largest value of the `integer` id column; larger ids cannot exist. */
export const MAX_PRODUCT_ID = 2_147_483_647;

// slonik's default parsers turn numeric and timestamptz into numbers.
const countRow = z.object({ count: z.number() });
const idRow = z.object({ id: z.number() });

const productRow = z.object({
  id: z.number(),
  name: z.string(),
  price: z.number(),
  available: z.boolean(),
  created_at: z.number(),
  updated_at: z.number(),
});

const PRODUCT_COLUMNS = sql.fragment`id, name, price, available, created_at, updated_at`;

function toProduct(row: z.output<typeof productRow>): Product {
  return {
    id: row.id,
    name: row.name,
    price: row.price,
    available: row.available,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

export type ProductsRepository = ReturnType<typeof createProductsRepository>;

/**
 * Unavailable products are treated as withdrawn from the catalogue: they are not listed, not
 * found and not valid for orders (as in the NestJS products service, where `available` is a soft delete).
 */
export function createProductsRepository(pool: DatabasePool) {
  return {
    /** The available products among `ids`, in the order of `ids`; unknown ids are left out. */
    async findAvailable(ids: readonly number[]): Promise<Product[]> {
      const possible = ids.filter((id) => id <= MAX_PRODUCT_ID);
      if (possible.length === 0) return [];
      const rows = await pool.any(
        sql.type(productRow)`
          SELECT ${PRODUCT_COLUMNS} FROM products
          WHERE available AND id = ANY(${sql.array(possible, 'int4')})`,
      );
      const byId = new Map(rows.map((row) => [row.id, toProduct(row)]));
      return possible.flatMap((id) => byId.get(id) ?? []);
    },

    async findOne(id: number): Promise<Product | null> {
      if (id > MAX_PRODUCT_ID) return null;
      const row = await pool.maybeOne(
        sql.type(productRow)`SELECT ${PRODUCT_COLUMNS} FROM products WHERE id = ${id} AND available`,
      );
      return row === null ? null : toProduct(row);
    },

    async create(product: NewProduct): Promise<Product> {
      const row = await pool.one(
        sql.type(productRow)`
          INSERT INTO products (name, price) VALUES (${product.name}, ${product.price})
          RETURNING ${PRODUCT_COLUMNS}`,
      );
      return toProduct(row);
    },

    /** Available products by id, `limit` per page; `lastPage = ceil(total / limit)`. */
    async list(query: { page: number; limit: number }): Promise<ProductPage> {
      const total = await pool.oneFirst(
        sql.type(countRow)`SELECT count(*)::int AS count FROM products WHERE available`,
      );
      const rows = await pool.any(
        sql.type(productRow)`
          SELECT ${PRODUCT_COLUMNS} FROM products WHERE available
          ORDER BY id
          LIMIT ${query.limit} OFFSET ${(query.page - 1) * query.limit}`,
      );
      return {
        data: rows.map(toProduct),
        meta: { total, page: query.page, lastPage: Math.ceil(total / query.limit) },
      };
    },

    /**
     * Inserts the products whose ids are not taken yet and leaves the others as they are; returns
     * the ids it inserted. Safe to run any number of times.
     */
    async insertMissing(products: ReadonlyArray<NewProduct & { id: number }>): Promise<number[]> {
      return pool.transaction(async (tx) => {
        const inserted = await tx.anyFirst(
          sql.type(idRow)`
            INSERT INTO products (id, name, price)
            SELECT id, name, price FROM ${sql.unnest(
              products.map((product) => [product.id, product.name, product.price]),
              ['int4', 'text', 'numeric'],
            )} AS seed(id, name, price)
            ON CONFLICT (id) DO NOTHING
            RETURNING id`,
        );
        if (inserted.length > 0) {
          // Explicit ids do not move the identity sequence; without this the next
          // products.create would be handed an id the seed already used.
          await tx.query(sql.unsafe`
            SELECT setval(pg_get_serial_sequence('products', 'id'), (SELECT max(id) FROM products))`);
        }
        return [...inserted].sort((a, b) => a - b);
      });
    },
  };
}
