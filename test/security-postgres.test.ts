import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { sql } from 'slonik';
import { createDeadLettersRepository } from '../src/db/dead-letters-repository';
import { migrate } from '../src/db/migrate';
import { createOrdersRepository } from '../src/db/orders-repository';
import { createDatabasePool, type DatabasePool } from '../src/db/pool';
import { createLogger } from '../src/logger';
import { createProductsRepository } from '../src/products/products-repository';
import { dropDatabase, uniqueDatabaseUrl } from './setup/databases';
import { asUser, privateDatabase } from './security-helpers';
import { runScript } from './support/run-command';

// The migrations' connection (the test run's database server, as its owner).
const ownerUrl = process.env.DATABASE_URL ?? '';

async function asOwner<T>(databaseUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A login role in the orders_app group, as an operator creates one (docs/security.md). */
async function createServiceLogin(): Promise<{ name: string; password: string; drop(): Promise<void> }> {
  const name = `orders_service_${randomBytes(4).toString('hex')}`;
  const password = `pw_${randomBytes(12).toString('hex')}`;
  await asOwner(ownerUrl, (client) =>
    client.query(
      `CREATE ROLE ${pg.escapeIdentifier(name)} LOGIN PASSWORD ${pg.escapeLiteral(password)} IN ROLE orders_app`,
    ),
  );
  return {
    name,
    password,
    drop: () =>
      asOwner(ownerUrl, (client) => client.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(name)}`)).then(
        () => undefined,
      ),
  };
}

describe('the processes’ PostgreSQL role (orders_app)', () => {
  let database: { url: string; drop(): Promise<void> };
  let login: Awaited<ReturnType<typeof createServiceLogin>>;
  let pool: DatabasePool;

  beforeAll(async () => {
    database = await privateDatabase('orders_security_pg');
    login = await createServiceLogin();
    pool = await createDatabasePool(asUser(database.url, login.name, login.password));
  });

  afterAll(async () => {
    await pool?.end();
    await database?.drop();
    await login?.drop();
  });

  it('connects as a member of orders_app, not as the tables’ owner', async () => {
    const who = await pool.one(sql.unsafe`
      SELECT current_user AS "user",
             pg_has_role(current_user, 'orders_app', 'MEMBER') AS member,
             (SELECT tableowner FROM pg_tables WHERE tablename = 'orders') AS owner`);
    expect(who).toEqual({ user: login.name, member: true, owner: expect.not.stringMatching(login.name) });
  });

  it('reads and writes orders, payments, dead letters and products through the repositories', async () => {
    const orders = createOrdersRepository(pool);
    const orderId = randomUUID();
    await orders.insertOrder({
      orderId,
      currency: 'usd',
      items: [{ productId: 3, name: 'Lamp', priceCents: 2_500, quantity: 2 }],
    });
    await orders.savePaymentSession(
      orderId,
      { url: 'https://checkout', successUrl: 'https://ok', cancelUrl: 'https://no' },
      Date.now() + 60_000,
    );
    await orders.keepPaymentWindowOpen(orderId);
    await expect(orders.claimEndedPaymentWindows(10, 1_000)).resolves.toEqual([]);
    const paid = await orders.recordPayment({ orderId, stripePaymentId: `pi_${orderId}`, receiptUrl: null }, 'APPLIED');
    expect(paid).toMatchObject({ status: 'PAID', totalAmount: 50 });
    await expect(orders.setStatus(orderId, 'DELIVERED')).resolves.toMatchObject({ status: 'DELIVERED' });
    await expect(orders.listOrders({ page: 1, limit: 10 })).resolves.toMatchObject({ meta: { total: 1 } });

    const deadLetters = createDeadLettersRepository(pool);
    await deadLetters.add({ subject: 'payment.succeeded', streamSeq: 1, reason: 'test', body: '{}' });
    await expect(deadLetters.list()).resolves.toHaveLength(1);
    // Identity columns need the sequences' USAGE grant.
    await expect(createProductsRepository(pool).create({ name: 'Desk', price: 120 })).resolves.toMatchObject({
      name: 'Desk',
    });
    await pool.query(sql.unsafe`DELETE FROM payment_dead_letters`);
  });

  it.each([
    ['CREATE TABLE', sql.unsafe`CREATE TABLE intruder (id int)`],
    ['ALTER TABLE', sql.unsafe`ALTER TABLE orders ADD COLUMN note text`],
    ['DROP TABLE', sql.unsafe`DROP TABLE order_items`],
    ['CREATE INDEX', sql.unsafe`CREATE INDEX orders_paid_idx ON orders (paid)`],
    ['TRUNCATE', sql.unsafe`TRUNCATE payments`],
    ['DROP TYPE', sql.unsafe`DROP TYPE order_status`],
    ['migrations table', sql.unsafe`DELETE FROM pgmigrations`],
  ])('refuses %s', async (_what, statement) => {
    await expect(pool.query(statement)).rejects.toMatchObject({ code: '42501' }); // insufficient_privilege
  });

  it('leaves the schema as the migrations made it', async () => {
    const columns = await asOwner(database.url, (client) =>
      client.query(
        `SELECT column_name FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'note'`,
      ),
    );
    expect(columns.rowCount).toBe(0);
  });
});

describe('migrations as the owner (MIGRATION_DATABASE_URL)', () => {
  it('npm run migrate connects with MIGRATION_DATABASE_URL while the processes use DATABASE_URL', async () => {
    const login = await createServiceLogin();
    const fresh = uniqueDatabaseUrl(ownerUrl, 'orders_security_migrate');
    try {
      const run = async (env: Record<string, string>): Promise<{ code: number | null; output: string }> => {
        const { code, stdout, stderr } = await runScript('src/scripts/migrate.ts', { env });
        return { code, output: stdout + stderr };
      };
      const appUrl = asUser(fresh, login.name, login.password);
      // The service's role may not create the database, let alone its tables.
      expect((await run({ DATABASE_URL: appUrl, MIGRATION_DATABASE_URL: '' })).code).not.toBe(0);
      const applied = await run({ DATABASE_URL: appUrl, MIGRATION_DATABASE_URL: fresh });
      expect(applied.output).toContain('applied 002_orders-app-role');
      expect(applied.code).toBe(0);
      const owner = await asOwner(fresh, (client) =>
        client.query<{ tableowner: string }>(`SELECT tableowner FROM pg_tables WHERE tablename = 'orders'`),
      );
      expect(owner.rows[0]?.tableowner).toBe(new URL(fresh).username);
    } finally {
      await dropDatabase(fresh);
      await login.drop();
    }
  });

  it('creates the cluster-wide role only once, however many databases migrate at the same time', async () => {
    const urls = [1, 2, 3].map(() => uniqueDatabaseUrl(ownerUrl, 'orders_security_roles'));
    try {
      const logger = createLogger('security-test', 'silent');
      await expect(Promise.all(urls.map((url) => migrate(url, logger)))).resolves.toHaveLength(3);
      const roles = await asOwner(ownerUrl, (client) =>
        client.query(`SELECT 1 FROM pg_roles WHERE rolname = 'orders_app'`),
      );
      expect(roles.rowCount).toBe(1);
    } finally {
      await Promise.all(urls.map((url) => dropDatabase(url)));
    }
  });
});
