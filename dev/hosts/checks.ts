import { execFile } from 'node:child_process';
import type { Client } from '@temporalio/client';
import pg from 'pg';
import { ORDER_WORKFLOW_TYPE } from '../../src/orders/workflow-api';
import { REPO_ROOT } from '../infra/data-dir';
import { inNetns } from '../infra/netns-command';
import type { ExpectedOrder, Found } from './report';

/**
 * What the stores hold for a scenario's orders (PostgreSQL rows, Temporal runs), and the project's
 * audit run from the load host, as an operator would run it.
 */

export async function collectFound(
  databaseUrl: string,
  temporal: Client,
  expected: readonly ExpectedOrder[],
  since: number,
): Promise<Found> {
  const ids = expected.map((order) => order.orderId);
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const orders = await client.query<{ id: string; status: string }>(
      'SELECT id, status FROM orders WHERE id = ANY($1::uuid[])',
      [ids],
    );
    const payments = await client.query<{ orderId: string; paymentId: string; outcome: string }>(
      'SELECT order_id AS "orderId", stripe_payment_id AS "paymentId", outcome FROM payments WHERE order_id = ANY($1::uuid[])',
      [ids],
    );
    const refunds = await client.query<{ orderId: string; paymentId: string }>(
      'SELECT order_id AS "orderId", stripe_payment_id AS "paymentId" FROM refunds WHERE order_id = ANY($1::uuid[])',
      [ids],
    );
    const wanted = new Set(ids);
    const runs = new Map<string, number>();
    let rejectedRuns = 0;
    // A minute's slack for clocks: the workflows were started by the cluster, the times are ours.
    const after = new Date(since - 60_000).toISOString();
    const query = `WorkflowType="${ORDER_WORKFLOW_TYPE}" AND StartTime >= "${after}"`;
    for await (const execution of temporal.workflow.list({ query })) {
      const orderId = execution.workflowId.replace(/^order-/, '');
      if (!wanted.has(orderId)) continue;
      // A placement rejected with nothing stored is no order's run: the caller's retry under the same
      // key starts the key's next attempt (docs/guarantees.md, 1), as test/faults/ledger.ts counts too.
      if (execution.searchAttributes.OrderStatus?.[0] === 'REJECTED') rejectedRuns += 1;
      else runs.set(orderId, (runs.get(orderId) ?? 0) + 1);
    }
    return { orders: orders.rows, payments: payments.rows, refunds: refunds.rows, runs, rejectedRuns };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** `npm run audit` (compiled) on the load host; clean when it exits 0. */
export function runAudit(netns: string, env: NodeJS.ProcessEnv): Promise<{ clean: boolean; output: string }> {
  const { command, args } = inNetns(netns, process.execPath, ['dist/src/scripts/audit.js']);
  return new Promise((resolve) => {
    execFile(command, args, { cwd: REPO_ROOT, env, timeout: 180_000 }, (error, stdout, stderr) => {
      resolve({ clean: error === null, output: `${stdout}${stderr}`.trim() });
    });
  });
}
