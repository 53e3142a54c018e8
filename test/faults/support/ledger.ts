import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { orderIdFor } from '../../../src/gateway/order-id';
import { PAYMENT_CONSUMER } from '../../../src/gateway/payment-subscriber';
import { PAYMENT_STREAM } from '../../../src/nats/payment-stream';
import { REFUND_REQUESTED_SUBJECT } from '../../../src/nats/subjects';
import { ORDER_WORKFLOW_TYPE, orderWorkflowId, type PlacedOrder } from '../../../src/orders/workflow-api';
import type { OrderStatus } from '../../../src/orders/types';
import { eventually } from '../../support/eventually';
import { REPO_ROOT } from '../../support/run-command';
import { APP_NAMES, type CallerError, type FaultSystem } from './fault-system';

/**
 * What every fault scenario shares (the dev server's in faults.test.ts, the cluster's in
 * cluster.test.ts): a ledger of the orders placed and the state each must end in, callers that
 * retry as a careful client does, and the checks that end every scenario, `npm run audit` included.
 */

const run = promisify(execFile);

let system: FaultSystem;
let products: { kettle: number; mug: number };

/** The system and products the helpers below work on, set by the test file's beforeAll. */
export function useSystem(running: FaultSystem, catalogue: { kettle: number; mug: number }): void {
  system = running;
  products = catalogue;
}

/** Every order the suite placed and the state it must end in; the audit must agree after each scenario. */
export interface Expected {
  orderId: string;
  status: OrderStatus;
  paymentId: string | null;
}
export const ledger = new Map<string, Expected>();

export const ITEMS = (): Array<{ productId: number; quantity: number }> => [
  { productId: products.kettle, quantity: 2 },
  { productId: products.mug, quantity: 1 },
];
// 2 x 12.50 + 1 x 7.25
export const ORDER_TOTAL = 32.25;

export const asCallerError = (error: unknown): CallerError =>
  typeof error === 'object' && error !== null && 'status' in error
    ? (error as CallerError)
    : { status: 'no answer', message: error instanceof Error ? error.message : String(error) };

/**
 * `orders.create` as a careful caller sends it: with an idempotencyKey, retried until it succeeds.
 * Every failure on the way is recorded, so the test can say which ones are acceptable.
 */
export async function createOrder(key: string, failures: CallerError[], timeoutMs = 60_000): Promise<PlacedOrder> {
  return eventually(
    async () => {
      try {
        return await system.request<PlacedOrder>('orders.create', { items: ITEMS(), idempotencyKey: key });
      } catch (error) {
        failures.push(asCallerError(error));
        throw error;
      }
    },
    timeoutMs,
    250,
  );
}

export function expectPlaced(placed: PlacedOrder, key: string): void {
  expect(placed.order).toMatchObject({
    id: orderIdFor(key),
    status: 'PENDING',
    totalAmount: ORDER_TOTAL,
    totalItems: 3,
  });
  expect(typeof placed.paymentSession.url).toBe('string');
}

export const paymentFor = (orderId: string, tag: string) => ({
  stripePaymentId: `pi_${tag}_${randomUUID().replace(/-/g, '')}`,
  orderId,
  receiptUrl: null,
});

export const newKeys = (tag: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `${tag}-${i}-${randomUUID()}`);

/**
 * Places `count` orders while nothing is broken and records them as PENDING. With `unavailableAllowed`,
 * a caller may be told to retry (503, never anything else) on the way: on a cluster a shard can
 * still be changing hands after a host has rejoined.
 */
export async function placeOrders(tag: string, count: number, { unavailableAllowed = false } = {}): Promise<string[]> {
  const failures: CallerError[] = [];
  const placed = await Promise.all(
    newKeys(tag, count).map(async (key) => {
      const result = await createOrder(key, failures, 30_000);
      expectPlaced(result, key);
      return result.order.id;
    }),
  );
  // Recorded before the check: they are stored either way, and a later scenario's audit counts them.
  for (const orderId of placed) ledger.set(orderId, { orderId, status: 'PENDING', paymentId: null });
  expect(failures.filter((failure) => !(unavailableAllowed && failure.status === 503))).toEqual([]);
  return placed;
}

interface OrderRow {
  id: string;
  status: OrderStatus;
  paid: boolean;
  stripe_charge_id: string | null;
}
interface PaymentRow {
  order_id: string;
  stripe_payment_id: string;
  outcome: string;
}

const byId = <T extends { id?: string; order_id?: string; orderId?: string }>(rows: T[]): T[] =>
  [...rows].sort((a, b) =>
    String(a.id ?? a.order_id ?? a.orderId).localeCompare(String(b.id ?? b.order_id ?? b.orderId)),
  );

/**
 * The orders in PostgreSQL are exactly as the ledger says: one row each, the expected status, the
 * expected payment as the only payment recorded (applied once, never refunded as a duplicate).
 */
export async function expectLedgerInDatabase(orderIds: string[] = [...ledger.keys()]): Promise<void> {
  const expected = orderIds.map((id) => ledger.get(id) as Expected);
  const orders = await system.query<OrderRow>(
    'SELECT id, status, paid, stripe_charge_id FROM orders WHERE id = ANY($1::uuid[])',
    [orderIds],
  );
  expect(byId(orders)).toEqual(
    byId(
      expected.map((e) => ({
        id: e.orderId,
        status: e.status,
        paid: e.paymentId !== null,
        stripe_charge_id: e.paymentId,
      })),
    ),
  );
  const payments = await system.query<PaymentRow>(
    'SELECT order_id, stripe_payment_id, outcome FROM payments WHERE order_id = ANY($1::uuid[])',
    [orderIds],
  );
  expect(byId(payments)).toEqual(
    byId(
      expected
        .filter((e) => e.paymentId !== null)
        .map((e) => ({ order_id: e.orderId, stripe_payment_id: e.paymentId, outcome: 'APPLIED' })),
    ),
  );
}

/** Exactly one OrderWorkflow run per order in the ledger, and none for anything else. */
export async function expectOneWorkflowPerOrder(): Promise<void> {
  const runs = new Map<string, number>();
  // A rejected placement (a keyless create past its deadline) stored no order: it is no order's run.
  const query = `WorkflowType="${ORDER_WORKFLOW_TYPE}" AND OrderStatus != "REJECTED"`;
  for await (const execution of system.temporal.workflow.list({ query })) {
    runs.set(execution.workflowId, (runs.get(execution.workflowId) ?? 0) + 1);
  }
  expect(Object.fromEntries(runs)).toEqual(
    Object.fromEntries([...ledger.keys()].map((id) => [orderWorkflowId(id), 1])),
  );
}

export async function expectOrderCount(): Promise<void> {
  const [row] = await system.query<{ count: number }>('SELECT count(*)::int AS count FROM orders');
  expect(row?.count).toBe(ledger.size);
}

export async function consumerBacklog(): Promise<{ pending: number; ackPending: number }> {
  const info = await (await jetstreamManager(system.nats)).consumers.info(PAYMENT_STREAM, PAYMENT_CONSUMER);
  return { pending: info.num_pending, ackPending: info.num_ack_pending };
}

/** Refund requests in the stream for these orders: a payment applied twice would ask for one. */
export async function refundRequestsFor(orderIds: string[] = [...ledger.keys()]): Promise<string[]> {
  const jsm = await jetstreamManager(system.nats);
  const { state } = await jsm.streams.info(PAYMENT_STREAM);
  const wanted = new Set(orderIds);
  const found: string[] = [];
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq += 1) {
    const message = await jsm.streams.getMessage(PAYMENT_STREAM, { seq }).catch(() => null);
    if (message?.subject !== REFUND_REQUESTED_SUBJECT) continue;
    const { data } = message.json<{ data: { orderId: string; stripePaymentId: string } }>();
    if (wanted.has(data.orderId)) found.push(`${data.orderId}/${data.stripePaymentId}`);
  }
  return found;
}

/**
 * `npm run audit` as an operator runs it, against this system. Every scenario ends with all its
 * orders paid, so the audit is told that payment windows and placements end at once: an order
 * still PENDING, or a workflow still placing one, then counts as stuck.
 */
export async function audit(): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run(
      process.execPath,
      [require.resolve('tsx/cli'), 'src/scripts/audit.ts', '--grace-ms=2000'],
      {
        cwd: REPO_ROOT,
        env: { ...system.env, ORDER_PAYMENT_WINDOW_MS: '1', ORDER_PLACEMENT_TIMEOUT_MS: '1' },
      },
    );
    return { code: 0, output: stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: `${failed.stdout}${failed.stderr}` };
  }
}

/**
 * What every scenario ends with: the processes are all still up (none died of the fault), the
 * ledger's orders are all in their expected state, nothing is left in the payment consumer, and
 * the audit finds zero missing, duplicate, stuck and mismatched orders.
 */
export async function expectConsistent(): Promise<void> {
  await eventually(async () => expect(await consumerBacklog()).toEqual({ pending: 0, ackPending: 0 }), 60_000, 500);
  await eventually(() => expectLedgerInDatabase(), 30_000, 500);
  await expectOrderCount();
  await eventually(() => expectOneWorkflowPerOrder(), 15_000, 500);

  const result = await eventually(
    async () => {
      const attempt = await audit();
      expect(attempt.output).toContain('OK: no discrepancies');
      return attempt;
    },
    30_000,
    1_000,
  );
  expect(result.code).toBe(0);
  expect(result.output).toMatch(/missing: 0\nduplicate: 0\nstuck: 0\nmismatched: 0\n/);
  const paid = [...ledger.values()].filter((e) => e.paymentId !== null).length;
  // Rejected placements (keyless creates past their deadline) are runs without an order.
  const rejected = await system.temporal.workflow.count(
    `WorkflowType="${ORDER_WORKFLOW_TYPE}" AND OrderStatus = "REJECTED"`,
  );
  expect(result.output).toContain(
    `orders ${ledger.size}, workflows ${ledger.size + rejected.count}, payments ${paid}, `,
  );
  expect(result.output).toMatch(/\(0 in flight\), dead letters 0/);

  // Checked after the audit, so a duplicate applied late has had time to show. No order of the
  // suite is ever paid twice or cancelled after payment, so none may have asked for a refund.
  expect(await refundRequestsFor()).toEqual([]);
  expect(system.unexpectedExits()).toEqual([]);
  expect(APP_NAMES.filter((name) => !system.isAppRunning(name))).toEqual([]);
}

/** Marks orders paid in the ledger and returns the payments to send for them. */
export function expectPayments(orderIds: string[], tag: string) {
  return orderIds.map((orderId) => {
    const payment = paymentFor(orderId, tag);
    ledger.set(orderId, { orderId, status: 'PAID', paymentId: payment.stripePaymentId });
    return payment;
  });
}

/** An order placed and paid from start to end, proving that every part works again. */
export async function placeAndPayOne(tag: string): Promise<void> {
  const [orderId] = (await placeOrders(tag, 1)) as [string];
  const [payment] = expectPayments([orderId], tag);
  await system.nest.emit('payment.succeeded', payment);
  await eventually(() => expectLedgerInDatabase([orderId]), 30_000, 250);
}
