import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { orderWorkflowId } from '../src/orders/workflow-api';
import type { OrderWithItems } from '../src/orders/types';
import { resolveRefusedPayments } from './support/dead-letters';
import { eventually } from './support/eventually';
import { paymentEvent } from './support/orders-client';
import { runCommand, type CommandResult } from './support/run-command';
import { startTestSystem, type TestSystem } from './support/system';

let system: TestSystem;
let product: { id: number };

/** `npm run tctl -- …`, as an operator types it. */
const tctl = (...args: string[]): Promise<CommandResult> =>
  runCommand('npm', ['run', '--silent', 'tctl', '--', ...args]);

const ok = (result: CommandResult): string => {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  return result.stdout;
};

const place = async (): Promise<OrderWithItems> =>
  (await system.client.place([{ productId: product.id, quantity: 3 }])).order;

beforeAll(async () => {
  system = await startTestSystem();
  product = await system.nest.send('products.create', { name: 'Desk', price: 120 });
});

afterAll(async () => {
  await system?.stop();
});

describe('npm run tctl', () => {
  it('queries, lists, counts, describes and shows a paid order with tctl syntax', async () => {
    const order = await place();
    await system.client.pay(order.id, paymentEvent(order.id, { receiptUrl: 'https://pay.stripe.com/receipts/r' }));
    await system.client.waitForStatus(order.id, 'PAID');
    const workflowId = orderWorkflowId(order.id);

    const query = ok(await tctl('workflow', 'query', '-w', workflowId, '--qt', 'getOrder'));
    expect(query).toContain(order.id);
    expect(query).toContain('"status":"PAID"');

    await eventually(async () => {
      expect(ok(await tctl('workflow', 'list', '-q', 'OrderStatus="PAID"'))).toContain(workflowId);
    });
    const count = ok(await tctl('workflow', 'count'));
    expect(Number(/Total:\s*(\d+)/.exec(count)?.[1])).toBeGreaterThanOrEqual(1);
    expect(ok(await tctl('workflow', 'count', '--query', `WorkflowId="${workflowId}"`))).toMatch(/Total:\s*1\b/);

    expect(
      ok(await tctl('--ns', system.config.temporal.namespace, 'workflow', 'describe', '--workflow_id', workflowId)),
    ).toContain(workflowId);
    expect(ok(await tctl('workflow', 'show', '-w', workflowId))).toMatch(
      /WorkflowExecutionStarted|WORKFLOW_EXECUTION_STARTED/i,
    );
  });

  it('sends a signal by hand, but a payment signalled by hand never pays: only the gateway signs payments', async () => {
    const order = await place();
    // Shaped like the gateway's signals, with a signature made up by hand.
    const forged = {
      ...paymentEvent(order.id, { receiptUrl: 'https://attacker.example/receipt' }),
      signature: 'v1.forged',
    };
    ok(
      await tctl(
        'workflow',
        'signal',
        '-w',
        orderWorkflowId(order.id),
        '-n',
        'paymentSucceeded',
        '-i',
        JSON.stringify(forged),
      ),
    );
    // The genuine payment, published as the payments service does, arrives after the forged signal.
    const genuine = paymentEvent(order.id);
    await system.client.pay(order.id, genuine);
    expect(await system.client.waitForStatus(order.id, 'PAID')).toMatchObject({
      stripeChargeId: genuine.stripePaymentId,
      receiptUrl: null,
    });
    // The worker refused it; not from the payment path, it is counted and logged, not kept.
    expect(await resolveRefusedPayments(system.pool, order.id)).toEqual([]);
  });

  it('passes the Temporal CLI exit code through', async () => {
    const missing = await tctl('workflow', 'describe', '-w', `order-${randomUUID()}`);
    expect(missing.code).not.toBe(0);
    expect(missing.code).not.toBe(2);
  });

  it('gives the Temporal CLI the API key in its environment, never on its command line (ps shows that)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'orders-fake-temporal-'));
    try {
      // A stand-in for the CLI that writes down what it was given.
      const fake = path.join(dir, 'temporal');
      const script = ['#!/bin/sh', `printf '%s\\n' "$@" > "$0.args"`, `printf '%s' "$TEMPORAL_API_KEY" > "$0.key"`, ''];
      writeFileSync(fake, script.join('\n'));
      chmodSync(fake, 0o755);
      const key = `tctl-test-key-${randomUUID()}`;
      const result = await runCommand('npm', ['run', '--silent', 'tctl', '--', 'workflow', 'count'], {
        TEMPORAL_CLI: fake,
        TEMPORAL_API_KEY: key,
      });
      expect(result).toEqual({ code: 0, stdout: '', stderr: '' });
      const args = readFileSync(`${fake}.args`, 'utf8');
      expect(args).toContain('--tls\n');
      expect(args).not.toContain(key);
      expect(args).not.toContain('--api-key');
      expect(readFileSync(`${fake}.key`, 'utf8')).toBe(key);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses what it does not translate in one line, with exit code 2', async () => {
    const result = await tctl('workflow', 'terminate', '-w', 'order-1');
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr:
        "tctl: unsupported command 'workflow terminate' (supported: query, list, count, describe, show, signal)\n",
    });
    const flag = await tctl('workflow', 'list', '--more');
    expect(flag).toEqual({ code: 2, stdout: '', stderr: 'tctl workflow list: unsupported flag --more\n' });
  });
});
