/**
 * Records the histories the replay test checks the workflow code against:
 *   npx tsx test/histories/record.ts [scenario ...]   (all scenarios when none is named)
 * Run it when a deliberate, versioned change to OrderWorkflow needs new reference histories; it
 * starts its own real services (as the test setup does) and writes
 * test/histories/<RECORDED_VERSION>/*.json. Keep the folders recorded before a change
 * (`patched`): they prove orders started by older code still replay. 1.0 is the baseline: orders of
 * 0.x are drained before it is deployed (docs/upgrades.md).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { WithStartWorkflowOperation, WorkflowContinuedAsNewError } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import {
  changeStatusUpdate,
  getOrderQuery,
  ORDER_WORKFLOW_TYPE,
  orderWorkflowId,
  paymentSucceededSignal,
  paymentWindowEndedSignal,
  placeOrderUpdate,
} from '../../src/orders/workflow-api';
import type { OrderWorkflow } from '../../src/workflows/order-workflow';
import type { OrderWorkflowInput, PlaceStart, PlacementDeadline } from '../../src/orders/workflow-api';
import type { PaymentSucceeded, SignedPayment } from '../../src/orders/types';
import { EXAMPLE_SECRETS } from '../../src/production-secrets';
import { signPayment } from '../../src/security/payment-signature';
import globalSetup, { stopTestServices, TEST_SERVICES_KEY, type TestServices } from '../setup/global-setup';
import { eventually } from '../support/eventually';
import { startTestSystem, type TestSystem } from '../support/system';
import { orderStartMetadata } from '../../src/gateway/workflow-metadata';

/** The release baseline, or the newest patch of OrderWorkflow after it; bump it with the patch so older recordings stay. */
const RECORDED_VERSION = '1.0';

/** A scenario returns its order id, or also earlier runs to record (continue-as-new). */
type Recorded = string | { orderId: string; earlierRuns: Record<string, string> };
type Scenario = (system: TestSystem, productId: number) => Promise<Recorded>;

/** As the gateway signals a payment: signed with the key the test system's gateway and worker share. */
const sign = (paid: PaymentSucceeded): SignedPayment => signPayment(paid, EXAMPLE_SECRETS.PAYMENT_SIGNING_KEY);
const payment = (orderId: string, changes: Partial<PaymentSucceeded> = {}): SignedPayment =>
  sign({ stripePaymentId: `pi_${randomUUID()}`, orderId, receiptUrl: 'https://pay.stripe.com/receipts/r', ...changes });

async function placeOrder(system: TestSystem, productId: number | string): Promise<string> {
  const placed = await system.nest.send<{ order: { id: string } }>('orders.create', { items: [{ productId, quantity: 2 }] });
  return placed.order.id;
}

/** Starts an order's workflow with these input settings and waits until it is placed (or rejected). */
async function startOrder(system: TestSystem, productId: number | string, settings: Partial<OrderWorkflowInput> = {}): Promise<string> {
  const orderId = settings.orderId ?? randomUUID();
  await system.temporal.workflow
    .executeUpdateWithStart(placeOrderUpdate, {
      startWorkflowOperation: new WithStartWorkflowOperation<typeof OrderWorkflow>(ORDER_WORKFLOW_TYPE, {
        workflowId: orderWorkflowId(orderId),
        taskQueue: system.config.temporal.taskQueue,
        args: [{ ...input(orderId, productId), ...settings }],
        // As the gateway starts orders: summary, details and OrderStatus = "PENDING".
        ...orderStartMetadata(orderId, placeStart(productId)),
        workflowIdConflictPolicy: 'USE_EXISTING',
      }),
    })
    .catch(() => undefined);
  return orderId;
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
          ...orderStartMetadata(orderId, placeStart('no-such-product')),
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      })
      .catch(() => undefined);
    return orderId;
  },
  // Only a signed payment of the order's amount pays: an unsigned and a malformed signal are dropped,
  // a signed one of 0.01 USD is recorded as a mismatch and refunded, then the order's own pays.
  'unsigned-malformed-and-mismatched-payments': async (system, productId) => {
    const orderId = await placeOrder(system, productId);
    const handle = system.temporal.workflow.getHandle(orderWorkflowId(orderId));
    await handle.signal(paymentSucceededSignal, { stripePaymentId: 'pi_unsigned', orderId, receiptUrl: null } as never);
    await handle.signal(paymentSucceededSignal, {} as never);
    await handle.signal(paymentSucceededSignal, payment(orderId, { amount: 1, currency: 'usd' }));
    await handle.signal(paymentSucceededSignal, payment(orderId, { amount: 2050, currency: 'usd' }));
    await handle.executeUpdate(changeStatusUpdate, { args: ['DELIVERED'] });
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
    await system.temporal.workflow.signalWithStart<typeof OrderWorkflow, [SignedPayment]>(ORDER_WORKFLOW_TYPE, {
      workflowId: orderWorkflowId(orderId),
      taskQueue: system.config.temporal.taskQueue,
      args: [{ ...input(orderId, productId), start: { kind: 'resume' } }],
      signal: paymentSucceededSignal,
      signalArgs: [payment(orderId)],
    });
    return orderId;
  },
  // The payment signal is in the history before placement: it waits in the inbox.
  'payment-overtakes-placement': async (system, productId) => {
    const orderId = randomUUID();
    await system.temporal.workflow.signalWithStart<typeof OrderWorkflow, [SignedPayment]>(ORDER_WORKFLOW_TYPE, {
      workflowId: orderWorkflowId(orderId),
      taskQueue: system.config.temporal.taskQueue,
      args: [input(orderId, productId)],
      signal: paymentSucceededSignal,
      signalArgs: [payment(orderId)],
    });
    const handle = system.temporal.workflow.getHandle(orderWorkflowId(orderId));
    // The update is refused until the order is placed (its validator): waited for, not raced.
    await eventually(async () => {
      if ((await handle.query(getOrderQuery)) === null) throw new Error('not placed yet');
    });
    await handle.executeUpdate(changeStatusUpdate, { args: ['DELIVERED'] });
    return orderId;
  },
  'second-payment-on-delivered-order': async (system, productId) => {
    const orderId = await startOrder(system, productId, { latePaymentGraceMs: 5_000 });
    const handle = system.temporal.workflow.getHandle(orderWorkflowId(orderId));
    await handle.signal(paymentSucceededSignal, payment(orderId));
    await handle.executeUpdate(changeStatusUpdate, { args: ['DELIVERED'] });
    await handle.signal(paymentSucceededSignal, payment(orderId));
    return orderId;
  },
  // A charge id after the payment intent: the payments service is asked whether it is the same payment.
  'payment-under-a-second-id': async (system, productId) => {
    const orderId = await startOrder(system, productId);
    const handle = system.temporal.workflow.getHandle(orderWorkflowId(orderId));
    await handle.signal(paymentSucceededSignal, payment(orderId, { receiptUrl: null }));
    await handle.signal(paymentSucceededSignal, payment(orderId, { stripePaymentId: `ch_${randomUUID().replace(/-/g, '')}` }));
    await handle.executeUpdate(changeStatusUpdate, { args: ['DELIVERED'] });
    return orderId;
  },
  'receipt-from-a-later-event': async (system, productId) => {
    const orderId = await startOrder(system, productId);
    const handle = system.temporal.workflow.getHandle(orderWorkflowId(orderId));
    const first = payment(orderId, { receiptUrl: null });
    await handle.signal(paymentSucceededSignal, first);
    await handle.signal(paymentSucceededSignal, sign({ ...first, receiptUrl: 'https://pay.stripe.com/receipts/later' }));
    await handle.executeUpdate(changeStatusUpdate, { args: ['DELIVERED'] });
    return orderId;
  },
  'continue-as-new': async (system, productId) => {
    const orderId = await startOrder(system, productId, { messagesPerRun: 2 });
    const handle = system.temporal.workflow.getHandle(orderWorkflowId(orderId));
    const firstRun = (await handle.describe()).runId;
    const paid = payment(orderId);
    await handle.signal(paymentSucceededSignal, paid);
    await handle.signal(paymentSucceededSignal, paid);
    // The first run ends by continuing as new.
    const ended = await system.temporal.workflow.result(orderWorkflowId(orderId), firstRun, { followRuns: false }).catch((error: unknown) => error);
    if (!(ended instanceof WorkflowContinuedAsNewError)) throw new Error('the order did not continue as new');
    await handle.executeUpdate(changeStatusUpdate, { args: ['DELIVERED'] });
    return { orderId, earlierRuns: { 'continue-as-new-first-run': firstRun } };
  },
  'keyless-create-past-its-deadline': async (system, productId) =>
    startOrder(system, productId, {
      start: placeStart(productId, { at: Date.now() - 1, callerTimeoutMs: 4_000 }),
    }),
  'checkout-refused': async (system) => {
    const pin = await system.nest.send<{ id: number }>('products.create', { name: 'Recorded pin', price: 0.1 });
    return startOrder(system, pin.id);
  },
  // A signal before the window's end changes nothing; the gateway's signal after it cancels the order.
  'payment-window-expired': async (system, productId) => {
    const orderId = await startOrder(system, productId, { paymentWindowMs: 1_000 });
    await system.temporal.workflow.getHandle(orderWorkflowId(orderId)).signal(paymentWindowEndedSignal);
    return orderId;
  },
};

function placeStart(productId: number | string, deadline: PlacementDeadline | null = null): PlaceStart {
  return { kind: 'place', items: [{ productId, quantity: 1 }], currency: 'usd', deadline };
}

function input(orderId: string, productId: number | string): OrderWorkflowInput {
  return {
    orderId,
    placementTimeoutMs: 5_000,
    paymentWindowMs: 60_000,
    latePaymentGraceMs: 500,
    messagesPerRun: 1_000,
    start: placeStart(productId),
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
      const recorded = await scenario(system, product.id);
      const { orderId, earlierRuns } = typeof recorded === 'string' ? { orderId: recorded, earlierRuns: {} } : recorded;
      const handle = system.temporal.workflow.getHandle(orderWorkflowId(orderId));
      const result = await handle.result();
      const folder = path.join(__dirname, RECORDED_VERSION);
      mkdirSync(folder, { recursive: true });
      const runs: Array<[string, string | undefined]> = [...Object.entries(earlierRuns), [name, undefined]];
      for (const [runName, runId] of runs) {
        const file = path.join(folder, `${runName}.json`);
        const history = await system.temporal.workflow.getHandle(orderWorkflowId(orderId), runId).fetchHistory();
        writeFileSync(file, `${historyToJSON(history)}\n`);
        process.stdout.write(`${runName}: ${String(result)} -> ${path.relative(process.cwd(), file)}\n`);
      }
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
