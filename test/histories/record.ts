/**
 * Records the histories the replay test checks the workflow code against:
 *   npx tsx test/histories/record.ts [scenario ...]   (all scenarios when none is named)
 * Run it when a deliberate, versioned change to OrderWorkflow needs new reference histories; it
 * starts its own real services (as the test setup does) and writes
 * test/histories/<RECORDED_VERSION>/*.json. Keep the folders recorded before a change
 * (`patched`): they prove orders started by older code still replay.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { changeStatusUpdate, ORDER_WORKFLOW_TYPE, orderWorkflowId, paymentSucceededSignal } from '../../src/orders/messages';
import { LOCAL_ACTIVITIES_PATCH, type OrderWorkflow } from '../../src/workflows/order-workflow';
import type { OrderWorkflowInput } from '../../src/orders/messages';
import type { PaymentSucceeded } from '../../src/orders/types';
import globalSetup, { stopTestServices, TEST_SERVICES_KEY, type TestServices } from '../setup/global-setup';
import { startTestSystem, type TestSystem } from '../support/system';

/** The newest patch of OrderWorkflow; bump it with the patch so older recordings stay. */
const RECORDED_VERSION = LOCAL_ACTIVITIES_PATCH;

type Scenario = (system: TestSystem, productId: number) => Promise<string>;

const payment = (orderId: string) => ({ stripePaymentId: `pi_${randomUUID()}`, orderId, receiptUrl: 'https://pay.stripe.com/receipts/r' });

async function placeOrder(system: TestSystem, productId: number | string): Promise<string> {
  const placed = await system.nest.send<{ order: { id: string } }>('orders.create', { items: [{ productId, quantity: 2 }] });
  return placed.order.id;
}

const scenarios: Record<string, Scenario> = {
  'paid-then-delivered': async (system, productId) => {
    const orderId = await placeOrder(system, productId);
    const handle = system.temporal.workflow.getHandle(orderWorkflowId(orderId));
    await handle.signal(paymentSucceededSignal, payment(orderId));
    await handle.executeUpdate(changeStatusUpdate, { args: ['DELIVERED'] });
    return orderId;
  },
  'paid-then-cancelled-with-refund': async (system, productId) => {
    const orderId = await placeOrder(system, productId);
    const handle = system.temporal.workflow.getHandle(orderWorkflowId(orderId));
    const first = payment(orderId);
    await handle.signal(paymentSucceededSignal, first);
    await handle.signal(paymentSucceededSignal, first);
    await handle.executeUpdate(changeStatusUpdate, { args: ['CANCELLED'] });
    await handle.signal(paymentSucceededSignal, payment(orderId));
    return orderId;
  },
  'rejected-unknown-product': async (system) => {
    const orderId = randomUUID();
    await system.temporal.workflow
      .executeUpdateWithStart('placeOrder', {
        startWorkflowOperation: new WithStartWorkflowOperation(ORDER_WORKFLOW_TYPE, {
          workflowId: orderWorkflowId(orderId),
          taskQueue: system.config.temporal.taskQueue,
          args: [input(orderId, 'no-such-product')],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      })
      .catch(() => undefined);
    return orderId;
  },
  'cancelled-while-pending': async (system, productId) => {
    const orderId = await placeOrder(system, productId);
    await system.temporal.workflow.getHandle(orderWorkflowId(orderId)).executeUpdate(changeStatusUpdate, { args: ['CANCELLED'] });
    return orderId;
  },
  // The order's workflow closed after delivery; a payment arriving later starts it again (resume).
  'late-payment-resumes-closed-order': async (system, productId) => {
    const orderId = await placeOrder(system, productId);
    const handle = system.temporal.workflow.getHandle(orderWorkflowId(orderId));
    await handle.signal(paymentSucceededSignal, payment(orderId));
    await handle.executeUpdate(changeStatusUpdate, { args: ['DELIVERED'] });
    await handle.result();
    await system.temporal.workflow.signalWithStart<typeof OrderWorkflow, [PaymentSucceeded]>(ORDER_WORKFLOW_TYPE, {
      workflowId: orderWorkflowId(orderId),
      taskQueue: system.config.temporal.taskQueue,
      args: [{ ...input(orderId, productId), items: [], resume: true }],
      signal: paymentSucceededSignal,
      signalArgs: [payment(orderId)],
    });
    return orderId;
  },
  'payment-window-expired': async (system, productId) => {
    const orderId = randomUUID();
    await system.temporal.workflow.start<typeof OrderWorkflow>(ORDER_WORKFLOW_TYPE, {
      workflowId: orderWorkflowId(orderId),
      taskQueue: system.config.temporal.taskQueue,
      args: [{ ...input(orderId, productId), paymentWindowMs: 500 }],
    });
    return orderId;
  },
};

function input(orderId: string, productId: number | string): OrderWorkflowInput {
  return {
    orderId,
    items: [{ productId, quantity: 1 }],
    currency: 'usd',
    placementTimeoutMs: 5_000,
    paymentWindowMs: 60_000,
    latePaymentGraceMs: 500,
  };
}

async function main(): Promise<void> {
  await globalSetup();
  const system = await startTestSystem({ ORDER_LATE_PAYMENT_GRACE_MS: '500' });
  try {
    const product = await system.nest.send<{ id: number }>('products.create', { name: 'Recorded product', price: 10.25 });
    const wanted = process.argv.slice(2);
    for (const [name, scenario] of Object.entries(scenarios)) {
      if (wanted.length > 0 && !wanted.includes(name)) continue;
      const orderId = await scenario(system, product.id);
      const handle = system.temporal.workflow.getHandle(orderWorkflowId(orderId));
      const result = await handle.result();
      const folder = path.join(__dirname, RECORDED_VERSION);
      mkdirSync(folder, { recursive: true });
      const file = path.join(folder, `${name}.json`);
      writeFileSync(file, `${historyToJSON(await handle.fetchHistory())}\n`);
      process.stdout.write(`${name}: ${String(result)} -> ${path.relative(process.cwd(), file)}\n`);
    }
  } finally {
    await system.stop();
    await stopTestServices((globalThis as Record<string, unknown>)[TEST_SERVICES_KEY] as TestServices);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
