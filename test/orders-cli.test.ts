import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { OrderWithItems } from '../src/orders/types';
import { eventually } from './support/eventually';
import { securedProductionEnv } from './support/production-env';
import { listen } from './support/recording-proxy';
import { runCommand, type CommandResult } from './support/run-command';
import { startTestSystem, type TestSystem } from './support/system';

let system: TestSystem;
let lamp: { id: number; name: string };

/** The `orders` command as a user runs it: its bin shim, in its own process. */
const orders = (...args: string[]): Promise<CommandResult> => runCommand(process.execPath, ['bin/orders.js', ...args]);

const ok = (result: CommandResult): string => {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  return result.stdout;
};

const oneLine = (text: string): void => {
  expect(text.trimEnd().split('\n')).toHaveLength(1);
};

beforeAll(async () => {
  system = await startTestSystem();
  lamp = await system.nest.send('products.create', { name: `Lamp ${randomUUID().slice(0, 6)}`, price: 12.5 });
});

afterAll(async () => {
  await system?.stop();
});

describe('the orders command', () => {
  it('creates, lists, shows with a timeline, pays and delivers an order', async () => {
    const created = JSON.parse(ok(await orders('create', `${lamp.id}x2`, '--key', randomUUID(), '--json'))) as {
      order: OrderWithItems;
      paymentSession: { url: string };
    };
    const { id } = created.order;
    expect(created.order).toMatchObject({
      status: 'PENDING',
      totalAmount: 25,
      OrderItems: [{ productId: lamp.id, quantity: 2 }],
    });

    const listed = ok(await orders('list', '--status', 'PENDING', '--limit', '100'));
    expect(listed).toMatch(new RegExp(`^${id}\\s+PENDING\\s+2\\s+25\\.00 USD`, 'm'));
    expect(listed).toMatch(/^ID\s+STATUS\s+ITEMS\s+TOTAL\s+CREATED$/m);
    expect(listed).toMatch(/^page 1 of \d+, \d+ orders?$/m);

    expect(ok(await orders('pay', id, '--payments-url', system.paymentsUrl))).toMatch(
      new RegExp(`Payment pi_\\S+ sent for order ${id}`),
    );
    await eventually(async () => {
      expect((await system.nest.send<OrderWithItems>('orders.find.one', { id })).status).toBe('PAID');
    });

    const shown = ok(await orders('show', id));
    expect(shown).toMatch(new RegExp(`^Order\\s+${id}$`, 'm'));
    expect(shown).toMatch(/^Status\s+PAID$/m);
    expect(shown).toMatch(new RegExp(`^${lamp.id}\\s+${lamp.name}\\s+12\\.50\\s+2\\s+25\\.00$`, 'm'));
    for (const event of ['placing', 'placed', 'checkout session opened', 'payment received', 'paid']) {
      expect(shown).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\s+${event}\\b`, 'm'));
    }

    expect(ok(await orders('deliver', id))).toMatch(/^Status\s+DELIVERED$/m);
    const json = JSON.parse(ok(await orders('show', id, '--json'))) as {
      order: OrderWithItems;
      timeline: Array<{ event: string }>;
    };
    expect(json.order.status).toBe('DELIVERED');
    expect(json.timeline.map((entry) => entry.event)).toEqual(expect.arrayContaining(['placed', 'paid', 'delivered']));
    // Six processes, each loading tsx and the Temporal SDK: seconds each on a busy machine.
  }, 180_000);

  it('lists the product catalogue', async () => {
    expect(ok(await orders('products'))).toMatch(new RegExp(`^\\s*${lamp.id}\\s+${lamp.name}\\s+12\\.50$`, 'm'));
  });

  it('cancels an order', async () => {
    const created = JSON.parse(ok(await orders('create', '--item', `${lamp.id}:1`, '--json'))) as {
      order: OrderWithItems;
    };
    expect(ok(await orders('cancel', created.order.id))).toMatch(/^Status\s+CANCELLED$/m);
  });

  // Every usage error is unit-tested (test/unit/orders-args.test.ts); these two prove the exit code of the process.
  it.each([
    [['create'], /^orders: create: at least one item is required/],
    [['list', '--bogus'], /^orders: Unknown option '--bogus'/],
  ])('exits 2 on a usage error: %j', async (args, message) => {
    const result = await orders(...args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    oneLine(result.stderr);
  });

  it('exits 1 with one line when the service answers an error', async () => {
    const unknown = randomUUID();
    const missing = await orders('show', unknown);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`orders: orders.find.one answered 404: Order with id ${unknown} not found\n`);

    const created = JSON.parse(ok(await orders('create', `${lamp.id}x1`, '--json'))) as { order: OrderWithItems };
    const early = await orders('deliver', created.order.id);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/^orders: orders\.change\.status answered 409: .*PENDING.*DELIVERED/);
    oneLine(early.stderr);
  });

  it('refuses to pay with NODE_ENV=production: exit 2, one line, nothing sent', async () => {
    const created = JSON.parse(ok(await orders('create', `${lamp.id}x1`, '--json'))) as { order: OrderWithItems };
    // Anything the command sent would reach this server (the webhook) or NATS (the order lookup).
    const requests: string[] = [];
    const payments = createServer((request, response) => {
      requests.push(`${request.method} ${request.url}`);
      response.end();
    });
    const port = await listen(payments);
    try {
      const result = await runCommand(
        process.execPath,
        ['bin/orders.js', 'pay', created.order.id, '--payments-url', `http://127.0.0.1:${port}`],
        // A configuration production accepts, with the test system's NATS: only the payment is refused.
        { ...securedProductionEnv(), NATS_URL: process.env.NATS_URL },
      );
      expect(result).toEqual({
        code: 2,
        stdout: '',
        stderr:
          'orders: test payments are for local development and refused with NODE_ENV=production: real payments come from Stripe\n',
      });
    } finally {
      await new Promise((resolve) => payments.close(resolve));
    }
    expect(requests).toEqual([]);
    expect(JSON.parse(ok(await orders('show', created.order.id, '--json')))).toMatchObject({
      order: { status: 'PENDING', paid: false },
    });
  });

  it('exits 3 when NATS cannot be reached', async () => {
    const result = await runCommand(process.execPath, ['bin/orders.js', 'list'], { NATS_URL: 'nats://127.0.0.1:1' });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^orders: cannot reach NATS at nats:\/\/127\.0\.0\.1:1: /);
    oneLine(result.stderr);
  });
});
