import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { eventually } from './support/eventually';
import { runScript } from './support/run-command';
import { startTestSystem, type TestSystem } from './support/system';

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem();
});

afterAll(async () => {
  await system?.stop();
});

/** `npm run audit` as an operator runs it, against this test run's services. */
async function audit(): Promise<{ code: number | null; output: string }> {
  const { code, stdout, stderr } = await runScript('src/scripts/audit.ts', { args: ['--grace-ms=3000'] });
  return { code, output: code === 0 ? stdout : `${stdout}${stderr}` };
}

it('reports zero discrepancies after orders are placed, paid and delivered, and flags a planted one', async () => {
  const product = await system.nest.send<{ id: number }>('products.create', { name: 'Audited', price: 5 });
  const { order } = await system.client.place([{ productId: product.id, quantity: 1 }]);
  await system.client.pay(order.id);
  await system.client.waitForStatus(order.id, 'PAID');
  await system.client.changeStatus(order.id, 'DELIVERED');
  await system.client.pay(randomUUID());

  const clean = await eventually(
    async () => {
      const result = await audit();
      expect(result.output).toContain('OK: no discrepancies');
      return result;
    },
    30_000,
    1_000,
  );
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
