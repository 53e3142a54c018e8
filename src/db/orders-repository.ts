import { sql, StatementTimeoutError, type DatabasePool, type FragmentSqlToken, type QuerySqlToken } from 'slonik';
import { z } from 'zod';
import { orderStatusChanges, paymentEvents } from '../observability/metrics';
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
  ProductId,
} from '../orders/types';
import { ORDER_STATUSES } from '../orders/types';
import { isTimeoutWaiting } from './unavailable';

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
  product_id: z.string(),
  product_id_type: z.enum(['string', 'number']).nullable(),
  name: z.string(),
  price_cents: z.number(),
  quantity: z.number(),
});

const ORDER_COLUMN_NAMES = [
  'id',
  'total_cents',
  'total_items',
  'currency',
  'status',
  'paid',
  'paid_at',
  'stripe_charge_id',
  'receipt_url',
  'created_at',
  'updated_at',
] as const;

/** The order's columns, qualified by `table` where a statement joins another table. */
const orderColumns = (table?: string) =>
  sql.join(
    ORDER_COLUMN_NAMES.map((name) => sql.identifier(table === undefined ? [name] : [table, name])),
    sql.fragment`, `,
  );

const ORDER_COLUMNS = orderColumns();

/**
 * An order row plus its lines as one JSON array, so an order is one row from one statement. A
 * write also says whether it changed the order's status (changedOrCurrent).
 */
const orderWithItemsRow = orderRow.extend({ items: z.array(itemRow), status_changed: z.boolean().optional() });

/**
 * Selects `source` (a CTE of the order's columns) with its lines, and `after` when given: a column
 * evaluated once the lines are read. A statement reads the table as it was when it began, so one
 * that inserts lines also passes the CTE that returned them.
 */
const withItems = (source: string, insertedItems?: string, after?: FragmentSqlToken) => {
  const stored = sql.fragment`SELECT product_id, product_id_type, name, price_cents, quantity, position FROM order_items WHERE order_id = o.id`;
  const items =
    insertedItems === undefined
      ? stored
      : sql.fragment`${stored} UNION ALL SELECT product_id, product_id_type, name, price_cents, quantity, position FROM ${sql.identifier([insertedItems])}`;
  return sql.fragment`
    SELECT o.*, (
      SELECT coalesce(json_agg(json_build_object(
        'product_id', i.product_id, 'product_id_type', i.product_id_type, 'name', i.name, 'price_cents', i.price_cents, 'quantity', i.quantity
      ) ORDER BY i.position), '[]'::json)
      FROM (${items}) i
    ) AS items${after === undefined ? sql.fragment`` : sql.fragment`, ${after}`}
    FROM ${sql.identifier([source])} o`;
};

/**
 * `changed` (a CTE of the order's columns) if the statement changed the row, else the row as it is;
 * `status_changed` tells which (every write's `changed` is an insert or a status change).
 */
const changedOrCurrent = (orderId: string) => sql.fragment`
  SELECT *, true AS status_changed FROM changed
  UNION ALL
  SELECT ${ORDER_COLUMNS}, false FROM orders WHERE id = ${orderId} AND NOT EXISTS (SELECT FROM changed)`;

const toIso = (epochMs: number | null): string | null => (epochMs === null ? null : new Date(epochMs).toISOString());

function toOrder(row: z.output<typeof orderRow>): Order {
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

/**
 * Product ids are stored as text with the JSON type they came as, so each goes back on the wire
 * exactly as it was sent: 7 as 7, "7" as "7". Rows from before the type was kept (NULL) fall back
 * to the old rule: integer-looking ids are numbers.
 */
function toProductId(stored: string, type: 'string' | 'number' | null): string | number {
  if (type === 'number') return Number(stored);
  if (type === 'string') return stored;
  return /^[1-9]\d{0,14}$/.test(stored) ? Number(stored) : stored;
}

const productIdType = (id: ProductId): 'string' | 'number' => (typeof id === 'number' ? 'number' : 'string');

function toItem(row: z.output<typeof itemRow>, currency: string): OrderItem {
  return {
    productId: toProductId(row.product_id, row.product_id_type),
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

/** APPLIED paid the order; REFUND_REQUESTED came for an order already paid or closed; MISMATCH is not the order's amount or currency. */
export type PaymentOutcome = 'APPLIED' | 'REFUND_REQUESTED' | 'MISMATCH';

/** A payment as recorded: for which order, with what outcome. */
export interface PaymentRecord {
  orderId: string;
  outcome: PaymentOutcome;
  detail: string | null;
}

/** A payment's record and the order it is for (findPaymentAndOrder). */
export interface PaymentAndOrder {
  recorded: PaymentRecord | null;
  order: Pick<Order, 'totalAmount' | 'currency'> | null;
}

const paymentRecordRow = z.object({
  order_id: z.string(),
  outcome: z.enum(['APPLIED', 'REFUND_REQUESTED', 'MISMATCH']),
  detail: z.string().nullable(),
});

// The other rows, built once: zod 4 compiles a schema's parser on its first use, about 30 to 150 µs,
// so a schema built per query costs more than the query's own check (eslint.config.mjs refuses one).
const insertedBeforeRow = orderWithItemsRow.extend({ open: z.boolean() });
const timeLeftRow = z.object({ left: z.number() });
const paymentSessionRow = z.object({ payment_session: z.record(z.string(), z.unknown()).nullable() });
const windowEndRow = z.object({ ends_at: z.number().nullable() });
const countRow = z.object({ count: z.number() });
const idRow = z.object({ id: z.string() });
const nowRow = z.object({ now: z.number() });
const rejectionRow = z.object({
  rejection: z.object({ type: z.enum(FailureType), message: z.string() }).nullable(),
});
const paymentIdRow = z.object({ stripe_payment_id: z.string() });
const toPaymentRecord = (row: z.output<typeof paymentRecordRow>): PaymentRecord => ({
  orderId: row.order_id,
  outcome: row.outcome,
  detail: row.detail,
});
const paymentWithOrderRow = z.object({
  order_id: z.string().nullable(),
  outcome: paymentRecordRow.shape.outcome.nullable(),
  detail: z.string().nullable(),
  total_cents: z.number().nullable(),
  currency: z.string().nullable(),
});

/** The order with its lines, if it is stored. */
const findOrderStatement = (orderId: string) =>
  sql.type(orderWithItemsRow)`
    WITH found AS (SELECT ${ORDER_COLUMNS} FROM orders WHERE id = ${orderId})
    ${withItems('found')}`;

/** Inserts the order and its lines, or finds it stored already; one statement either way. */
const insertOrder = (order: NewOrder, after?: FragmentSqlToken) =>
  sql.fragment`
    WITH changed AS (
      INSERT INTO orders (id, total_cents, total_items, currency)
      VALUES (
        ${order.orderId},
        ${totalCents(order.items)},
        ${order.items.reduce((sum, item) => sum + item.quantity, 0)},
        ${order.currency}
      )
      ON CONFLICT (id) DO NOTHING
      RETURNING ${ORDER_COLUMNS}
    ), inserted_items AS (
      INSERT INTO order_items (order_id, position, product_id, product_id_type, name, price_cents, quantity)
      SELECT changed.id, item.position - 1, item.product_id, item.product_id_type, item.name, item.price_cents, item.quantity
      FROM changed, ${sql.unnest(
        order.items.map((item) => [
          String(item.productId),
          productIdType(item.productId),
          item.name,
          item.priceCents,
          item.quantity,
        ]),
        ['text', 'text', 'text', 'int8', 'int4'],
      )} WITH ORDINALITY AS item(product_id, product_id_type, name, price_cents, quantity, position)
      RETURNING product_id, product_id_type, name, price_cents, quantity, position
    ), the_order AS (${changedOrCurrent(order.orderId)})
    ${withItems('the_order', 'inserted_items', after)}`;

const insertOrderStatement = (order: NewOrder) => sql.type(orderWithItemsRow)`${insertOrder(order)}`;

/**
 * insertOrderStatement whose row also says whether the database's clock was still before
 * `deadline` once the lines were inserted (`open`, evaluated after the items column, which reads them).
 */
const insertOrderBeforeStatement = (order: NewOrder, deadline: number) =>
  sql.type(insertedBeforeRow)`${insertOrder(order, sql.fragment`${msUntil(deadline)} > 0 AS open`)}`;

/**
 * How long a keyless create's placement may wait for the order's placement lock, and then look,
 * once its deadline has passed: an attempt still holding the lock ends by its own bound (the time
 * it had left), so this is only a bound on a stuck connection.
 */
const VERDICT_WAIT_MS = 5_000;

/** Milliseconds from the database's clock to `deadline` (epoch ms on that clock); negative once passed. */
const msUntil = (deadline: number) =>
  sql.fragment`(${deadline}::float8 - extract(epoch FROM clock_timestamp())::float8 * 1000)`;

/**
 * The statement bound of a placement transaction: `timeoutMs` when given, else the time left, and
 * once that is gone VERDICT_WAIT_MS (an attempt that finds the deadline passed only looks).
 */
const statementBound = (timeoutMs?: number) =>
  timeoutMs === undefined
    ? sql.fragment`(CASE WHEN time_left > 0 THEN greatest(1, ceil(time_left)) ELSE ${VERDICT_WAIT_MS} END)::int`
    : sql.fragment`${timeoutMs}::int`;

/** One row: `time_left` before `deadline` and the `bound` of the transaction's statements (statementBound). */
const timeLeftAndBound = (deadline: number, timeoutMs?: number) => sql.fragment`
  (SELECT time_left, ${statementBound(timeoutMs)} AS bound FROM (SELECT ${msUntil(deadline)} AS time_left) AS clock) AS now`;

/** The milliseconds left before `deadline`, bounding the rest of the transaction's statements in the same round trip. */
const timeLeftBounded = (deadline: number, timeoutMs?: number) =>
  sql.type(timeLeftRow)`
    SELECT time_left AS left, set_config('statement_timeout', bound::text, true) AS bounded
    FROM ${timeLeftAndBound(deadline, timeoutMs)}`;

/**
 * A placement transaction's first statement: timeLeftBounded, then the order's placement lock
 * (transaction-scoped), so attempts of one order run one at a time. The wait for the lock has the
 * same bound, as lock_timeout: a statement's own statement_timeout is set before it starts, but
 * lock_timeout is read when a wait starts, after the set_config before it in the select list.
 */
const placementStart = (orderId: string, deadline: number, timeoutMs?: number) =>
  sql.type(timeLeftRow)`
    SELECT time_left AS left,
      set_config('statement_timeout', bound::text, true) AS bounded,
      set_config('lock_timeout', bound::text, true) AS lock_bounded,
      pg_advisory_xact_lock(hashtextextended(${`order-placement:${orderId}`}, 0)) AS locked
    FROM ${timeLeftAndBound(deadline, timeoutMs)}`;

/** A payment window's end (epoch ms) as a timestamp. */
const windowEnd = (endsAt: number) => sql.fragment`to_timestamp(${endsAt}::float8 / 1000)`;

/**
 * Keeps `session` as the order's checkout, with its payment window's end, unless the order has one
 * already: a checkout is never replaced (a retried step, or a placement run again over an order
 * whose workflow history is gone, answers the checkout the customer may already hold). Answers the
 * checkout kept.
 */
const keepFirstSession = (orderId: string, session: PaymentSession, windowEndsAt: number, deadline?: number) =>
  sql.type(paymentSessionRow)`
    WITH saved AS (
      UPDATE orders SET payment_session = ${sql.jsonb(session)}, payment_window_ends_at = ${windowEnd(windowEndsAt)}
      WHERE id = ${orderId} AND payment_session IS NULL
        AND ${deadline === undefined ? sql.fragment`TRUE` : sql.fragment`${msUntil(deadline)} > 0`}
      RETURNING payment_session
    )
    SELECT payment_session FROM saved
    UNION ALL
    SELECT payment_session FROM orders WHERE id = ${orderId} AND NOT EXISTS (SELECT FROM saved)`;

/** Thrown inside a placement transaction to roll it back: its deadline passed before it could commit. */
class DeadlinePassed extends Error {}

export type OrdersRepository = ReturnType<typeof createOrdersRepository>;

export function createOrdersRepository(pool: DatabasePool) {
  const toOrderWithItems = (row: z.output<typeof orderWithItemsRow>): OrderWithItems => ({
    ...toOrder(row),
    OrderItems: row.items.map((item) => toItem(item, row.currency)),
  });

  async function findOrder(orderId: string): Promise<OrderWithItems | null> {
    const row = await pool.maybeOne(findOrderStatement(orderId));
    return row === null ? null : toOrderWithItems(row);
  }

  async function requireOrder(orderId: string): Promise<OrderWithItems> {
    const order = await findOrder(orderId);
    if (order === null) throw new Error(`Order ${orderId} is not in the database`);
    return order;
  }

  /**
   * Each write is one statement that returns the order as it left it, so a write is one round
   * trip. A write that finds nothing to do returns the row as it is.
   */
  async function writeOrder(
    orderId: string,
    statement: QuerySqlToken<typeof orderWithItemsRow>,
    onStatusChanged?: () => void,
  ) {
    const row = await pool.maybeOne(statement);
    // Empty only when a concurrent statement committed the row after this one's snapshot.
    if (row === null) return requireOrder(orderId);
    if (row.status_changed === true) {
      orderStatusChanges.inc({ status: row.status });
      onStatusChanged?.();
    }
    return toOrderWithItems(row);
  }

  return {
    findOrder,

    /** The payment session stored with the order, for repeated `orders.create` calls. */
    async findPaymentSession(orderId: string): Promise<PaymentSession | null> {
      const session = await pool.maybeOneFirst(
        sql.type(paymentSessionRow)`
          SELECT payment_session FROM orders WHERE id = ${orderId}`,
      );
      return (session as PaymentSession | null) ?? null;
    },

    /** When the order's payment window ends (epoch ms), or null when it no longer ends or never did. */
    async findPaymentWindowEnd(orderId: string): Promise<number | null> {
      return pool.maybeOneFirst(sql.type(windowEndRow)`
        SELECT (extract(epoch FROM payment_window_ends_at) * 1000)::float8 AS ends_at FROM orders WHERE id = ${orderId}`);
    },

    async listOrders(query: { page: number; limit: number; status?: OrderStatus }): Promise<OrderPage> {
      const where = query.status === undefined ? sql.fragment`TRUE` : sql.fragment`status = ${query.status}`;
      const total = await pool.oneFirst(sql.type(countRow)`SELECT count(*)::int AS count FROM orders WHERE ${where}`);
      const meta = { total, page: query.page, lastPage: Math.ceil(total / query.limit) };
      // A page past the last one is empty; its offset (page 1e300) may not even fit PostgreSQL's bigint.
      if ((query.page - 1) * query.limit >= total) return { data: [], meta };
      const rows = await pool.any(
        sql.type(orderRow)`
          SELECT ${ORDER_COLUMNS} FROM orders WHERE ${where}
          ORDER BY created_at DESC, id DESC
          LIMIT ${query.limit} OFFSET ${(query.page - 1) * query.limit}`,
      );
      return { data: rows.map(toOrder), meta };
    },

    /** Idempotent: a repeated call finds the order already there and returns it unchanged. */
    async insertOrder(order: NewOrder): Promise<OrderWithItems> {
      return writeOrder(order.orderId, insertOrderStatement(order));
    },

    /**
     * Keeps the order's checkout, and when its payment window ends (epoch ms, the workflow's clock),
     * unless it has one already; answers the checkout kept.
     */
    async savePaymentSession(orderId: string, session: PaymentSession, windowEndsAt: number): Promise<PaymentSession> {
      return (await pool.oneFirst(keepFirstSession(orderId, session, windowEndsAt))) as PaymentSession;
    },

    /** The order's window no longer ends (its complete checkout's payment is awaited): never signalled again. */
    async keepPaymentWindowOpen(orderId: string): Promise<void> {
      await pool.query(sql.unsafe`UPDATE orders SET payment_window_ends_at = NULL WHERE id = ${orderId}`);
    },

    /**
     * Up to `limit` PENDING orders whose payment window has ended on the database's clock and whose
     * workflow was not signalled about it in the last `resignalAfterMs`, marked signalled now. Rows
     * another gateway is claiming are skipped, so two gateways never claim one order at once.
     */
    async claimEndedPaymentWindows(limit: number, resignalAfterMs: number): Promise<string[]> {
      const rows = await pool.any(sql.type(idRow)`
        UPDATE orders SET payment_window_signalled_at = clock_timestamp()
        WHERE id IN (
          SELECT id FROM orders
          WHERE status = 'PENDING' AND payment_window_ends_at <= clock_timestamp()
            AND (payment_window_signalled_at IS NULL
              OR payment_window_signalled_at <= clock_timestamp() - make_interval(secs => ${resignalAfterMs / 1000}))
          ORDER BY payment_window_ends_at
          LIMIT ${limit}
          FOR UPDATE SKIP LOCKED)
        RETURNING id`);
      return rows.map((row) => row.id);
    },

    /** The database's clock (epoch ms): the one clock a keyless create's placement deadline is set and read on. */
    async databaseNow(): Promise<number> {
      return pool.oneFirst(sql.type(nowRow)`
        SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now`);
    },

    /** Milliseconds left before `deadline` on the database's clock; zero or less once it has passed. */
    async placementTimeLeft(deadline: number): Promise<number> {
      return pool.oneFirst(sql.type(timeLeftRow)`SELECT ${msUntil(deadline)} AS left`);
    },

    /**
     * A keyless create's insert, which never commits after its placement deadline (`deadline`,
     * epoch ms on the database's clock): the order is stored only if the clock is still before it
     * once the insert is done, and the insert itself is bounded by the time left (statement_timeout).
     * Attempts of one order are serialised by a lock, so an attempt the workflow abandoned (timed
     * out, retried) and the one that finds the deadline passed cannot both be right: the latter
     * waits for the former to commit or roll back, then sees what it stored. Returns the stored
     * order (inserted now, or by an earlier attempt before the deadline), or null: the deadline
     * passed with nothing stored, and nothing will be. With `order` null it only looks, once the
     * deadline has passed.
     */
    async insertOrderBefore(orderId: string, order: NewOrder | null, deadline: number): Promise<OrderWithItems | null> {
      const attempt = (insert: NewOrder | null) =>
        pool.transaction(async (tx): Promise<z.output<typeof orderWithItemsRow> | null> => {
          // Inserting: at most the time left; looking after the deadline: long enough for an attempt in flight to end.
          const { left } = await tx.one(
            placementStart(orderId, deadline, insert === null ? VERDICT_WAIT_MS : undefined),
          );
          if (insert === null && left > 0)
            throw new Error(`placement of order ${orderId} is still before its deadline`);
          // Past the deadline nothing more is stored, but an earlier attempt may have stored it
          // before: holding the lock, this sees it.
          if (insert === null || left <= 0) return tx.maybeOne(findOrderStatement(orderId));
          // Holding the lock, this statement sees what an earlier attempt committed: it answers that
          // order as stored; an order it inserts is kept only if the deadline had not passed by then.
          const { open, ...stored } = await tx.one(insertOrderBeforeStatement(insert, deadline));
          if (stored.status_changed === true && !open) throw new DeadlinePassed();
          return stored;
        });
      let row: z.output<typeof orderWithItemsRow> | null;
      try {
        row = await attempt(order);
      } catch (error) {
        if (!(error instanceof DeadlinePassed || (order !== null && isTimeoutWaiting(error)))) throw error;
        // The deadline passed while inserting (rolled back) or while waiting for another attempt: look.
        row = await attempt(null);
      }
      if (row?.status_changed === true) orderStatusChanges.inc({ status: row.status });
      return row === null ? null : toOrderWithItems(row);
    },

    /**
     * Keeps a keyless create's checkout with its order only before its placement deadline (the
     * database's clock), bounded by the time left, unless it has one already: the checkout kept, or
     * null once the deadline has passed (the workflow then cancels the order, as the caller is told
     * nothing was kept). A transaction, so that waiting for the row (another transaction holding
     * it) is bounded too: a lock waited for is not checked against the deadline again.
     */
    async savePaymentSessionBefore(
      orderId: string,
      session: PaymentSession,
      windowEndsAt: number,
      deadline: number,
    ): Promise<PaymentSession | null> {
      return pool
        .transaction(async (tx) => {
          const { left } = await tx.one(timeLeftBounded(deadline));
          if (left <= 0) return null;
          // None kept and none saved: the deadline passed before the statement ran.
          return (await tx.oneFirst(
            keepFirstSession(orderId, session, windowEndsAt, deadline),
          )) as PaymentSession | null;
        })
        .catch((error: unknown) => {
          // Still saving when the time was up: rolled back, as if too late.
          if (error instanceof StatementTimeoutError) return null;
          throw error;
        });
    },

    /**
     * Records a payment once per Stripe payment id. With outcome APPLIED it also marks a PENDING
     * order PAID with the payment's time, charge id and receipt. Safe to repeat. A payment id already
     * recorded for another order pays nothing here (findPayment tells whose it is).
     */
    async recordPayment(
      payment: PaymentSucceeded,
      outcome: PaymentOutcome,
      detail: string | null = null,
    ): Promise<OrderWithItems> {
      return writeOrder(
        payment.orderId,
        sql.type(orderWithItemsRow)`
          WITH recorded AS (
            INSERT INTO payments (stripe_payment_id, order_id, receipt_url, outcome, amount, currency, detail)
            VALUES (
              ${payment.stripePaymentId}, ${payment.orderId}, ${payment.receiptUrl}, ${outcome},
              ${payment.amount ?? null}, ${payment.currency ?? null}, ${detail}
            )
            ON CONFLICT (stripe_payment_id) DO NOTHING
            RETURNING stripe_payment_id, order_id, outcome, receipt_url, received_at
          ), payment AS (
            SELECT * FROM recorded
            UNION ALL
            SELECT stripe_payment_id, order_id, outcome, receipt_url, received_at FROM payments
            WHERE stripe_payment_id = ${payment.stripePaymentId} AND NOT EXISTS (SELECT FROM recorded)
          ), changed AS (
            -- Only a payment recorded for this order, as applied, pays it: one payment id pays one order.
            UPDATE orders o
            SET status = 'PAID', paid = true, paid_at = p.received_at,
                stripe_charge_id = p.stripe_payment_id, receipt_url = p.receipt_url, updated_at = now()
            FROM payment p
            WHERE o.id = ${payment.orderId} AND o.status = 'PENDING' AND p.order_id = o.id AND p.outcome = 'APPLIED'
            RETURNING ${orderColumns('o')}
          ), the_order AS (${changedOrCurrent(payment.orderId)})
          ${withItems('the_order')}`,
        () => paymentEvents.inc({ outcome: 'applied' }),
      );
    },

    /** Sets the status the workflow decided; repeating it changes nothing more. */
    async setStatus(orderId: string, status: OrderStatus): Promise<OrderWithItems> {
      return writeOrder(
        orderId,
        sql.type(orderWithItemsRow)`
          WITH changed AS (
            UPDATE orders SET status = ${status}, updated_at = now()
            WHERE id = ${orderId} AND status <> ${status}
            RETURNING ${ORDER_COLUMNS}
          ), the_order AS (${changedOrCurrent(orderId)})
          ${withItems('the_order')}`,
      );
    },

    /**
     * A later event for a recorded payment (a charge.succeeded after its checkout event) fills the
     * receipt URL it was recorded without, on the payment and on the order it paid; never overwrites one.
     */
    async fillReceipt(orderId: string, stripePaymentId: string, receiptUrl: string): Promise<OrderWithItems> {
      return writeOrder(
        orderId,
        sql.type(orderWithItemsRow)`
          WITH payment AS (
            UPDATE payments SET receipt_url = ${receiptUrl}
            WHERE stripe_payment_id = ${stripePaymentId} AND receipt_url IS NULL
          ), filled AS (
            UPDATE orders SET receipt_url = ${receiptUrl}, updated_at = now()
            WHERE id = ${orderId} AND stripe_charge_id = ${stripePaymentId} AND receipt_url IS NULL
            RETURNING ${ORDER_COLUMNS}
          ), the_order AS (
            SELECT *, false AS status_changed FROM filled
            UNION ALL
            SELECT ${ORDER_COLUMNS}, false FROM orders WHERE id = ${orderId} AND NOT EXISTS (SELECT FROM filled)
          )
          ${withItems('the_order')}`,
      );
    },

    /** Cancels an order placement ended for good and keeps why, for retries of its create. */
    async rejectOrder(orderId: string, rejection: Rejection): Promise<OrderWithItems> {
      return writeOrder(
        orderId,
        sql.type(orderWithItemsRow)`
          WITH changed AS (
            UPDATE orders SET status = 'CANCELLED', rejection = ${sql.jsonb(rejection)}, updated_at = now()
            WHERE id = ${orderId} AND status = 'PENDING'
            RETURNING ${ORDER_COLUMNS}
          ), the_order AS (${changedOrCurrent(orderId)})
          ${withItems('the_order')}`,
      );
    },

    /** Why placement ended the order for good, if it did. */
    async findRejection(orderId: string): Promise<Rejection | null> {
      const rejection = await pool.maybeOneFirst(
        sql.type(rejectionRow)`
          SELECT rejection FROM orders WHERE id = ${orderId}`,
      );
      return rejection ?? null;
    },

    async findPayment(stripePaymentId: string): Promise<PaymentRecord | null> {
      const row = await pool.maybeOne(sql.type(paymentRecordRow)`
        SELECT order_id, outcome, detail FROM payments WHERE stripe_payment_id = ${stripePaymentId}`);
      return row === null ? null : toPaymentRecord(row);
    },

    /**
     * What a payment for `orderId` is checked against, in one round trip: its record (for which
     * order, with what outcome), and the order's total and currency; each null when not stored.
     */
    async findPaymentAndOrder(stripePaymentId: string, orderId: string): Promise<PaymentAndOrder> {
      const row = await pool.one(sql.type(paymentWithOrderRow)`
        SELECT p.order_id, p.outcome, p.detail, o.total_cents, o.currency
        FROM (SELECT) AS one
        LEFT JOIN payments p ON p.stripe_payment_id = ${stripePaymentId}
        LEFT JOIN orders o ON o.id = ${orderId}`);
      return {
        recorded:
          row.order_id === null || row.outcome === null
            ? null
            : toPaymentRecord({ order_id: row.order_id, outcome: row.outcome, detail: row.detail }),
        order:
          row.total_cents === null || row.currency === null
            ? null
            : { totalAmount: fromMinorUnits(row.total_cents, row.currency), currency: row.currency },
      };
    },

    async findPaymentIds(orderId: string): Promise<string[]> {
      const ids = await pool.anyFirst(
        sql.type(paymentIdRow)`
          SELECT stripe_payment_id FROM payments WHERE order_id = ${orderId} ORDER BY received_at`,
      );
      return [...ids];
    },
  };
}
