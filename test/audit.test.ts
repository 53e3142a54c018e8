import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'slonik';
import type { OrderWithItems } from '../src/orders/types';
import { eventually } from './support/eventually';
import { startTestSystem, type TestSystem } from './support/system';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem();
});

afterAll(async () => {
  await system?.stop();
});

/** `npm run audit` as an operator runs it, against this test run's services. */
async function audit(): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run(process.execPath, [require.resolve('tsx/cli'), 'src/scripts/audit.ts', '--grace-ms=3000'], {
      cwd: ROOT,
      env: process.env,
    });
    return { code: 0, output: stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: `${failed.stdout}${failed.stderr}` };
  }
}

it('reports zero discrepancies after orders are placed, paid and delivered, and flags a planted one', async () => {
  const product = await system.nest.send<{ id: number }>('products.create', { name: 'Audited', price: 5 });
  const { order } = await system.nest.send<{ order: OrderWithItems }>('orders.create', { items: [{ productId: product.id, quantity: 1 }] });
  await system.nest.emit('payment.succeeded', { stripePaymentId: `pi_${randomUUID()}`, orderId: order.id, receiptUrl: null });
  await eventually(async () => expect((await system.orders.findOrder(order.id))?.status).toBe('PAID'));
  await system.nest.send('orders.change.status', { id: order.id, status: 'DELIVERED' });
  await system.nest.emit('payment.succeeded', { stripePaymentId: `pi_${randomUUID()}`, orderId: randomUUID(), receiptUrl: null });

  const clean = await eventually(async () => {
    const result = await audit();
    expect(result.output).toContain('OK: no discrepancies');
    return result;
  }, 30_000, 1_000);
  expect(clean.code).toBe(0);
  expect(clean.output).toMatch(/missing: 0\nduplicate: 0\nstuck: 0\nmismatched: 0/);

  // An order row that no workflow owns, as if written behind the service's back.
  const planted = randomUUID();
  await system.pool.query(sql.unsafe`
    INSERT INTO orders (id, total_cents, total_items, currency, created_at)
    VALUES (${planted}, 100, 1, 'usd', now() - interval '1 hour')`);
  try {
    const broken = await audit();
    expect(broken.code).toBe(1);
    expect(broken.output).toContain(`order ${planted} has no workflow`);
    expect(broken.output).toContain('FAILED: 1 discrepancies');
  } finally {
    await system.pool.query(sql.unsafe`DELETE FROM orders WHERE id = ${planted}`);
  }
});
