import { sql, type DatabasePool, type DatabaseTransactionConnection } from 'slonik';
import { z } from 'zod';
import { FailureType, type Rejection } from '../orders/errors';
import { fromMinorUnits, totalCents } from '../orders/money';
import type {
  Order,
  OrderItem,
  OrderStatus,
  OrderWithItems,
  PaymentSession,
  PaymentSucceeded,
  PricedItem,
} from '../orders/types';
import { ORDER_STATUSES } from '../orders/types';

/** PostgreSQL access for orders: the workflow's writes and the gateway's reads. */

const orderRow = z.object({
  id: z.string(),
  total_cents: z.number(),
  total_items: z.number(),
  currency: z.string(),
  status: z.enum(ORDER_STATUSES),
  paid: z.boolean(),
  paid_at: z.number().nullable(),
  stripe_charge_id: z.string().nullable(),
  receipt_url: z.string().nullable(),
  created_at: z.number(),
  updated_at: z.number(),
});

const itemRow = z.object({
  order_id: z.string(),
  product_id: z.string(),
  name: z.string(),
  price_cents: z.number(),
  quantity: z.number(),
});

const ORDER_COLUMNS = sql.fragment`
  id, total_cents, total_items, currency, status, paid, paid_at, stripe_charge_id, receipt_url,
  created_at, updated_at`;

const toIso = (epochMs: number | null): string | null => (epochMs === null ? null : new Date(epochMs).toISOString());

function toOrder(row: z.infer<typeof orderRow>): Order {
  return {
    id: row.id,
    totalAmount: fromMinorUnits(row.total_cents, row.currency),
    totalItems: row.total_items,
    currency: row.currency,
    status: row.status,
    paid: row.paid,
    paidAt: toIso(row.paid_at),
    stripeChargeId: row.stripe_charge_id,
    receiptUrl: row.receipt_url,
    createdAt: toIso(row.created_at) as string,
    updatedAt: toIso(row.updated_at) as string,
  };
}

/** Product ids are stored as text; integer ids go back on the wire as numbers, as they came. */
function toProductId(stored: string): string | number {
  return /^[1-9]\d{0,14}$/.test(stored) ? Number(stored) : stored;
}

function toItem(row: z.infer<typeof itemRow>, currency: string): OrderItem {
  return {
    productId: toProductId(row.product_id),
    name: row.name,
    price: fromMinorUnits(row.price_cents, currency),
    quantity: row.quantity,
  };
}

export interface NewOrder {
  orderId: string;
  currency: string;
  items: PricedItem[];
}

export interface OrderPage {
  data: Order[];
  meta: { total: number; page: number; lastPage: number };
}

export type PaymentOutcome = 'APPLIED' | 'REFUND_REQUESTED';

export type OrdersRepository = ReturnType<typeof createOrdersRepository>;

export function createOrdersRepository(pool: DatabasePool) {
  async function loadWithItems(
    connection: DatabasePool | DatabaseTransactionConnection,
    orderId: string,
  ): Promise<OrderWithItems | null> {
    const row = await connection.maybeOne(sql.type(orderRow)`SELECT ${ORDER_COLUMNS} FROM orders WHERE id = ${orderId}`);
    if (row === null) return null;
    const items = await connection.any(
      sql.type(itemRow)`
        SELECT order_id, product_id, name, price_cents, quantity
        FROM order_items WHERE order_id = ${orderId} ORDER BY position`,
    );
    return { ...toOrder(row), OrderItems: items.map((item) => toItem(item, row.currency)) };
  }

  async function requireOrder(
    connection: DatabasePool | DatabaseTransactionConnection,
    orderId: string,
  ): Promise<OrderWithItems> {
    const order = await loadWithItems(connection, orderId);
    if (order === null) throw new Error(`Order ${orderId} is not in the database`);
    return order;
  }

  return {
    findOrder: (orderId: string) => loadWithItems(pool, orderId),

    /** The payment session stored with the order, for repeated `orders.create` calls. */
    async findPaymentSession(orderId: string): Promise<PaymentSession | null> {
      const session = await pool.maybeOneFirst(
        sql.type(z.object({ payment_session: z.record(z.unknown()).nullable() }))`
          SELECT payment_session FROM orders WHERE id = ${orderId}`,
      );
      return (session as PaymentSession | null) ?? null;
    },

    async listOrders(query: { page: number; limit: number; status?: OrderStatus }): Promise<OrderPage> {
      const where = query.status === undefined ? sql.fragment`TRUE` : sql.fragment`status = ${query.status}`;
      const total = await pool.oneFirst(
        sql.type(z.object({ count: z.number() }))`SELECT count(*)::int AS count FROM orders WHERE ${where}`,
      );
      const rows = await pool.any(
        sql.type(orderRow)`
          SELECT ${ORDER_COLUMNS} FROM orders WHERE ${where}
          ORDER BY created_at DESC, id DESC
          LIMIT ${query.limit} OFFSET ${(query.page - 1) * query.limit}`,
      );
      return {
        data: rows.map(toOrder),
        meta: { total, page: query.page, lastPage: Math.ceil(total / query.limit) },
      };
    },

    /** Idempotent: a repeated call finds the order already there and returns it unchanged. */
    async insertOrder(order: NewOrder): Promise<OrderWithItems> {
      return pool.transaction(async (tx) => {
        const inserted = await tx.maybeOneFirst(
          sql.type(z.object({ id: z.string() }))`
            INSERT INTO orders (id, total_cents, total_items, currency)
            VALUES (
              ${order.orderId},
              ${totalCents(order.items)},
              ${order.items.reduce((sum, item) => sum + item.quantity, 0)},
              ${order.currency}
            )
            ON CONFLICT (id) DO NOTHING
            RETURNING id`,
        );
        if (inserted !== null) {
          await tx.query(sql.unsafe`
            INSERT INTO order_items (order_id, position, product_id, name, price_cents, quantity)
            SELECT ${order.orderId}, position - 1, product_id, name, price_cents, quantity
            FROM ${sql.unnest(
              order.items.map((item) => [String(item.productId), item.name, item.priceCents, item.quantity]),
              ['text', 'text', 'int8', 'int4'],
            )} WITH ORDINALITY AS item(product_id, name, price_cents, quantity, position)`);
        }
        return requireOrder(tx, order.orderId);
      });
    },

    async savePaymentSession(orderId: string, session: PaymentSession): Promise<void> {
      await pool.query(sql.unsafe`
        UPDATE orders SET payment_session = ${sql.jsonb(session as never)} WHERE id = ${orderId}`);
    },

    /**
     * Records a payment once per Stripe payment id. With outcome APPLIED it also marks a PENDING
     * order PAID with the payment's time, charge id and receipt. Safe to repeat.
     */
    async recordPayment(payment: PaymentSucceeded, outcome: PaymentOutcome): Promise<OrderWithItems> {
      return pool.transaction(async (tx) => {
        await tx.query(sql.unsafe`
          INSERT INTO payments (stripe_payment_id, order_id, receipt_url, outcome)
          VALUES (${payment.stripePaymentId}, ${payment.orderId}, ${payment.receiptUrl}, ${outcome})
          ON CONFLICT (stripe_payment_id) DO NOTHING`);
        if (outcome === 'APPLIED') {
          await tx.query(sql.unsafe`
            UPDATE orders o
            SET status = 'PAID', paid = true, paid_at = p.received_at,
                stripe_charge_id = p.stripe_payment_id, receipt_url = p.receipt_url, updated_at = now()
            FROM payments p
            WHERE o.id = ${payment.orderId} AND o.status = 'PENDING'
              AND p.stripe_payment_id = ${payment.stripePaymentId}`);
        }
        return requireOrder(tx, payment.orderId);
      });
    },

    /** Sets the status the workflow decided; repeating it changes nothing more. */
    async setStatus(orderId: string, status: OrderStatus): Promise<OrderWithItems> {
      return pool.transaction(async (tx) => {
        await tx.query(sql.unsafe`
          UPDATE orders SET status = ${status}, updated_at = now()
          WHERE id = ${orderId} AND status <> ${status}`);
        return requireOrder(tx, orderId);
      });
    },

    /**
     * A later event for a recorded payment (a charge.succeeded after its checkout event) fills the
     * receipt URL it was recorded without, on the payment and on the order it paid; never overwrites one.
     */
    async fillReceipt(orderId: string, stripePaymentId: string, receiptUrl: string): Promise<OrderWithItems> {
      return pool.transaction(async (tx) => {
        await tx.query(sql.unsafe`
          UPDATE payments SET receipt_url = ${receiptUrl}
          WHERE stripe_payment_id = ${stripePaymentId} AND receipt_url IS NULL`);
        await tx.query(sql.unsafe`
          UPDATE orders SET receipt_url = ${receiptUrl}, updated_at = now()
          WHERE id = ${orderId} AND stripe_charge_id = ${stripePaymentId} AND receipt_url IS NULL`);
        return requireOrder(tx, orderId);
      });
    },

    /** Cancels an order placement ended for good and keeps why, for retries of its create. */
    async rejectOrder(orderId: string, rejection: Rejection): Promise<OrderWithItems> {
      return pool.transaction(async (tx) => {
        await tx.query(sql.unsafe`
          UPDATE orders SET status = 'CANCELLED', rejection = ${sql.jsonb(rejection as never)}, updated_at = now()
          WHERE id = ${orderId} AND status = 'PENDING'`);
        return requireOrder(tx, orderId);
      });
    },

    /** Why placement ended the order for good, if it did. */
    async findRejection(orderId: string): Promise<Rejection | null> {
      const rejection = await pool.maybeOneFirst(
        sql.type(z.object({ rejection: z.object({ type: z.nativeEnum(FailureType), message: z.string() }).nullable() }))`
          SELECT rejection FROM orders WHERE id = ${orderId}`,
      );
      return rejection ?? null;
    },

    async findPaymentIds(orderId: string): Promise<string[]> {
      const ids = await pool.anyFirst(
        sql.type(z.object({ stripe_payment_id: z.string() }))`
          SELECT stripe_payment_id FROM payments WHERE order_id = ${orderId} ORDER BY received_at`,
      );
      return [...ids];
    },
  };
}
