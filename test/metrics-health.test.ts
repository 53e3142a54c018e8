import { spawn, type ChildProcess } from 'node:child_process';
import { tsxCommand } from '../dev/infra/app-process';
import { freePorts } from '../dev/infra/ports';
import type { OrderWithItems } from '../src/orders/types';
import { checkoutSessionEvent, postWebhook, signEvent, webhookUrl } from '../src/payments/test-events';
import { eventually } from './support/eventually';
import { get, sampleValue } from './support/prometheus';
import { REPO_ROOT } from './support/run-command';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy';
import { startTestSystem, type Part, type TestSystem } from './support/system';

/**
 * /metrics, /healthz and /readyz of every process: the counters move when an order is placed and
 * paid through the real system, and /readyz names the dependency that stopped answering.
 */

const PARTS: Part[] = ['gateway', 'worker', 'products', 'payments'];

describe('metrics and health of the running system', () => {
  let system: TestSystem;
  let sdkMetricsPort: number;

  beforeAll(async () => {
    const [gateway, worker, products, payments, sdk] = (await freePorts(5)) as [number, number, number, number, number];
    sdkMetricsPort = sdk;
    system = await startTestSystem({
      GATEWAY_METRICS_PORT: String(gateway),
      WORKER_METRICS_PORT: String(worker),
      PRODUCTS_METRICS_PORT: String(products),
      PAYMENTS_METRICS_PORT: String(payments),
      WORKER_SDK_METRICS_PORT: String(sdk),
    });
  });

  afterAll(async () => {
    await system?.stop();
  });

  const base = (part: Part): string => {
    const url = system.observability[part];
    if (url === undefined) throw new Error(`${part} serves no metrics`);
    return url;
  };

  it('every process is alive and ready', async () => {
    for (const part of PARTS) {
      expect({ part, ...(await get(`${base(part)}/healthz`)) }).toMatchObject({ part, status: 200 });
      const ready = await get(`${base(part)}/readyz`);
      expect({ part, status: ready.status }).toEqual({ part, status: 200 });
      expect(JSON.parse(ready.body)).toMatchObject({ status: 'ready', down: [] });
    }
    expect(JSON.parse((await get(`${base('worker')}/readyz`)).body).checks).toEqual({
      nats: 'up',
      database: 'up',
      temporal: 'up',
    });
    expect(JSON.parse((await get(`${base('payments')}/readyz`)).body).checks).toEqual({ nats: 'up' });
  });

  it('counts the requests, the status changes and the payment of an order placed and paid', async () => {
    const product = await system.nest.send<{ id: number }>('products.create', { name: 'Teapot', price: 12 });
    const { order } = await system.nest.send<{ order: OrderWithItems }>('orders.create', {
      items: [{ productId: product.id, quantity: 1 }],
    });
    const webhook = signEvent(checkoutSessionEvent({ orderId: order.id }), system.config.stripe.webhookSecret);
    expect((await postWebhook(webhookUrl(system.paymentsUrl), webhook)).status).toBe(200);
    await eventually(async () => {
      expect((await system.nest.send<OrderWithItems>('orders.find.one', { id: order.id })).status).toBe('PAID');
    });

    const metrics = Object.fromEntries(
      await Promise.all(PARTS.map(async (part) => [part, (await get(`${base(part)}/metrics`)).body] as const)),
    ) as Record<Part, string>;
    expect(
      sampleValue(metrics.gateway, 'orders_nats_requests_total', { subject: 'orders.create', status: '200' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sampleValue(metrics.gateway, 'orders_nats_request_duration_seconds_count', { subject: 'orders.create' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sampleValue(metrics.products, 'orders_nats_requests_total', { subject: 'validate_products', status: '200' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sampleValue(metrics.payments, 'orders_nats_requests_total', { subject: 'create.payment.session', status: '200' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sampleValue(metrics.worker, 'orders_order_status_changes_total', { status: 'PENDING' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sampleValue(metrics.worker, 'orders_order_status_changes_total', { status: 'PAID' })).toBeGreaterThanOrEqual(
      1,
    );
    expect(sampleValue(metrics.worker, 'orders_payment_events_total', { outcome: 'applied' })).toBeGreaterThanOrEqual(
      1,
    );
    // Read from the server at the scrape (other test files' systems share this consumer, so its value varies).
    expect(
      sampleValue(metrics.gateway, 'orders_jetstream_consumer_pending_messages', {
        consumer: 'orders-payment-succeeded',
      }),
    ).toEqual(expect.any(Number));

    // A refused request is counted under its status.
    await system.nest.sendExpectingError('orders.find.one', { id: 'not-a-uuid' });
    const after = (await get(`${base('gateway')}/metrics`)).body;
    expect(
      sampleValue(after, 'orders_nats_requests_total', { subject: 'orders.find.one', status: '400' }),
    ).toBeGreaterThanOrEqual(1);

    // The Temporal SDK's own metrics, on the worker's SDK port.
    const sdk = await get(`http://127.0.0.1:${sdkMetricsPort}/metrics`);
    expect(sdk.status).toBe(200);
    expect(sdk.body).toMatch(/^temporal_\w+/m);
  });
});

describe('readiness of a products process whose dependencies go away', () => {
  let database: TcpProxy;
  let nats: TcpProxy;
  let child: ChildProcess;
  let exited: Promise<number | null>;
  let url: string;

  beforeAll(async () => {
    const databaseUrl = new URL(process.env.DATABASE_URL as string);
    const natsUrl = new URL((process.env.NATS_URL as string).replace(/^nats:/, 'http:'));
    database = await startTcpProxy(Number(databaseUrl.port || 5432), databaseUrl.hostname);
    nats = await startTcpProxy(Number(natsUrl.port), natsUrl.hostname);
    databaseUrl.port = String(database.port);
    const [port] = (await freePorts(1)) as [number];
    url = `http://127.0.0.1:${port}`;
    const { command, args } = tsxCommand('src/products/main.ts');
    child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        LOG_LEVEL: 'info',
        DATABASE_URL: databaseUrl.toString(),
        NATS_URL: `nats://127.0.0.1:${nats.port}`,
        PRODUCTS_METRICS_PORT: String(port),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString('utf8').includes('"msg":"ready"')) resolve();
      });
      void exited.then((code) => reject(new Error(`products exited (${code}) before it was ready`)));
    });
  }, 60_000);

  afterAll(async () => {
    child?.kill('SIGTERM');
    await exited;
    await Promise.all([database?.close(), nats?.close()]);
  });

  const readiness = async (): Promise<{ httpStatus: number; down: string[]; checks: Record<string, string> }> => {
    const { status, body } = await get(`${url}/readyz`);
    return { ...(JSON.parse(body) as { down: string[]; checks: Record<string, string> }), httpStatus: status };
  };

  it('is ready while NATS and the database answer', async () => {
    expect(await readiness()).toMatchObject({ httpStatus: 200, down: [] });
  });

  it('is 503 naming the database while the database is unreachable, and alive all the same', async () => {
    await database.cut();
    const ready = await readiness();
    expect(ready).toMatchObject({ httpStatus: 503, down: ['database'], checks: { nats: 'up' } });
    expect(ready.checks.database).toMatch(/^down: /);
    expect((await get(`${url}/healthz`)).status).toBe(200);
    await database.restore();
    await eventually(async () => expect(await readiness()).toMatchObject({ httpStatus: 200 }));
  });

  it('is 503 naming NATS while NATS is unreachable', async () => {
    await nats.cut();
    expect(await readiness()).toMatchObject({ httpStatus: 503, down: ['nats'], checks: { database: 'up' } });
    await nats.restore();
    await eventually(async () => expect(await readiness()).toMatchObject({ httpStatus: 200 }), 30_000);
  });
});
