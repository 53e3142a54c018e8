import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { decodeJson, callPeer, PeerError, serveNest } from '../wire';
import { connectFloorNats, FLOOR_PAYMENT_PARALLELISM, FLOOR_SETTINGS, logLine, runFloor } from './floor-process';
import { consumeStream } from './stream-consumer';
import { FLOOR_SUBJECTS } from './subjects';

/**
 * Floor 1: the seed's non-durable design, the least work an order can take. A request handler
 * validates the products with the same products service, inserts the order and its items in one
 * transaction (same tables, in a database of its own on the same PostgreSQL cluster), asks the
 * same payments service for a checkout session and replies; a durable JetStream consumer marks
 * the order PAID. No workflow, no retry, nothing that survives a crash between the steps.
 */

const { create: CREATE_SUBJECT, payment: PAYMENT_SUBJECT, stream: STREAM } = FLOOR_SUBJECTS.seed;
const NAME = 'seed-pipeline';

interface Product {
  id: number | string;
  name: string;
  price: number;
}

interface CreatePayload {
  items: Array<{ productId: number | string; quantity: number }>;
}

runFloor(NAME, async () => {
  const nats = await connectFloorNats(NAME);
  const pool = new pg.Pool({ connectionString: FLOOR_SETTINGS.seedDatabaseUrl, max: 10 });
  pool.on('error', (error) => logLine(NAME, 'error', 'pool error', { err: String(error) }));
  const onError = (error: unknown): void =>
    logLine(NAME, 'error', 'failed', { err: error instanceof Error ? error.message : String(error) });
  const timeout = FLOOR_SETTINGS.requestTimeoutMs;

  const create = async (payload: unknown): Promise<unknown> => {
    const { items } = payload as CreatePayload;
    if (!Array.isArray(items) || items.length === 0) throw new PeerError(400, 'items must not be empty');
    const ids = items.map((item) => item.productId);
    const products = await callPeer<Product[]>(nats, 'validate_products', ids, timeout);
    const byId = new Map(products.map((product) => [String(product.id), product]));
    const missing = ids.filter((id) => !byId.has(String(id)));
    if (missing.length > 0) throw new PeerError(400, `Products not found: ${missing.join(', ')}`);
    const lines = items.map((item) => {
      const product = byId.get(String(item.productId)) as Product;
      return {
        productId: String(item.productId),
        name: product.name,
        priceCents: Math.round(product.price * 100),
        quantity: item.quantity,
      };
    });
    const totalCents = lines.reduce((sum, line) => sum + line.priceCents * line.quantity, 0);
    const totalItems = lines.reduce((sum, line) => sum + line.quantity, 0);
    const orderId = randomUUID();

    const client = await pool.connect();
    let order: Record<string, unknown>;
    try {
      await client.query('BEGIN');
      const inserted = await client.query(
        `INSERT INTO orders (id, total_cents, total_items, currency) VALUES ($1, $2, $3, 'usd') RETURNING *`,
        [orderId, totalCents, totalItems],
      );
      await client.query(
        `INSERT INTO order_items (order_id, position, product_id, name, price_cents, quantity)
         SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::bigint[], $6::int[])`,
        [
          orderId,
          lines.map((_line, index) => index),
          lines.map((line) => line.productId),
          lines.map((line) => line.name),
          lines.map((line) => line.priceCents),
          lines.map((line) => line.quantity),
        ],
      );
      await client.query('COMMIT');
      order = inserted.rows[0] as Record<string, unknown>;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }

    const paymentSession = await callPeer<unknown>(
      nats,
      'create.payment.session',
      {
        orderId,
        currency: 'usd',
        items: lines.map((line) => ({ name: line.name, price: line.priceCents / 100, quantity: line.quantity })),
      },
      timeout,
    );
    return {
      order: {
        id: orderId,
        totalAmount: totalCents / 100,
        totalItems,
        currency: 'usd',
        status: order.status,
        paid: false,
        createdAt: order.created_at,
        OrderItems: lines.map((line) => ({
          productId: line.productId,
          name: line.name,
          price: line.priceCents / 100,
          quantity: line.quantity,
        })),
      },
      paymentSession,
    };
  };

  const subscription = serveNest(nats, CREATE_SUBJECT, 'bench-seed', create, onError);
  const consumer = await consumeStream(
    nats,
    { stream: STREAM, subject: PAYMENT_SUBJECT, durable: 'bench-seed-paid', parallel: FLOOR_PAYMENT_PARALLELISM },
    async (msg) => {
      const { data } = decodeJson(msg.data) as {
        data: { orderId: string; stripePaymentId: string; receiptUrl?: string };
      };
      await pool.query(
        `UPDATE orders SET status = 'PAID', paid = true, paid_at = now(), stripe_charge_id = $2, receipt_url = $3, updated_at = now()
         WHERE id = $1`,
        [data.orderId, data.stripePaymentId, data.receiptUrl ?? null],
      );
    },
    onError,
  );

  return async () => {
    await subscription.drain();
    await consumer.stop();
    await nats.drain();
    await pool.end();
  };
});
