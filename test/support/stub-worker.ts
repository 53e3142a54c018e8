import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { freePort } from '../../dev/infra/ports';
import { startService } from '../../dev/infra/start-service';
import type { OrderActivities } from '../../src/activities';
import { mismatchOf, type PaymentAcceptance, type PaymentRequest } from '../../src/activities/payment-acceptance';
import { hasValidSignature, signPayment } from '../../src/security/payment-signature';
import type { PaymentOutcome } from '../../src/db/orders-repository';
import type { Rejection } from '../../src/orders/errors';
import { ORDER_WORKFLOW_TYPE, orderWorkflowId, type OrderWorkflowInput } from '../../src/orders/workflow-api';
import { WORKFLOW_BUNDLER_OPTIONS, WORKFLOWS_PATH } from '../../src/worker/workflow-code';
import { orderStartMetadata } from '../../src/gateway/workflow-metadata';
import type {
  OrderStatus,
  OrderWithItems,
  PaymentSession,
  PaymentSucceeded,
  RequestedItem,
  SignedPayment,
} from '../../src/orders/types';
import type { OrderWorkflow } from '../../src/workflows/order-workflow';

/**
 * OrderWorkflow on a real Temporal dev server of its own (so the run's audit never sees these
 * orders), with in-memory activities: for the
 * workflow's own decisions (timers, waits, what it asks and when), fast and without peers.
 * Every activity call is announced on `calls` (event = activity name), so tests await it.
 */
export interface StubPeers {
  orders: Map<string, OrderWithItems>;
  payments: Array<{ payment: PaymentSucceeded; outcome: PaymentOutcome }>;
  refunds: Array<{ orderId: string; stripePaymentId: string; reason: string }>;
  calls: EventEmitter;
  /** What Stripe says of an order's checkout session when the workflow expires it. */
  sessionStatus: (orderId: string) => 'open' | 'complete';
  /** The payment intent behind a Stripe payment id (charge ids map to their payment intent). */
  paymentIntents: Map<string, string>;
}

/** The key the stub worker checks payment signatures with (the gateway's key in a real system). */
export const STUB_SIGNING_KEY = 'stub-signing-key-for-the-workflow-tests';

/** A payment as the gateway signals it: signed with the stub worker's key. */
export function signedPayment(
  orderId: string,
  stripePaymentId: string,
  receiptUrl: string | null = null,
  money: { amount: number; currency: string } | Record<string, never> = {},
): SignedPayment {
  return signPayment({ stripePaymentId, orderId, receiptUrl, ...money }, STUB_SIGNING_KEY);
}

export function stubPeers(): StubPeers {
  return {
    orders: new Map(),
    payments: [],
    refunds: [],
    calls: new EventEmitter(),
    sessionStatus: () => 'open',
    paymentIntents: new Map(),
  };
}

function stubActivities(peers: StubPeers): Partial<OrderActivities> {
  const announce = <T>(name: string, value: T): T => {
    peers.calls.emit(name, value);
    return value;
  };
  const order = (orderId: string): OrderWithItems => {
    const found = peers.orders.get(orderId);
    if (found === undefined) throw new Error(`no order ${orderId}`);
    return found;
  };
  const update = (orderId: string, change: Partial<OrderWithItems>): OrderWithItems => {
    const next = { ...order(orderId), ...change, updatedAt: new Date().toISOString() };
    peers.orders.set(orderId, next);
    return next;
  };
  /** Stores the order (once), as the worker's placement does before it opens the checkout. */
  const storeOrder = (request: { orderId: string; currency: string; items: RequestedItem[] }): OrderWithItems => {
    const existing = peers.orders.get(request.orderId);
    if (existing) return announce('placeOrder', existing);
    const now = new Date().toISOString();
    const placed: OrderWithItems = {
      id: request.orderId,
      totalAmount: 10 * request.items.reduce((sum, item) => sum + item.quantity, 0),
      totalItems: request.items.reduce((sum, item) => sum + item.quantity, 0),
      currency: request.currency,
      status: 'PENDING',
      paid: false,
      paidAt: null,
      stripeChargeId: null,
      receiptUrl: null,
      createdAt: now,
      updatedAt: now,
      OrderItems: request.items.map((item) => ({
        productId: item.productId,
        name: 'Item',
        price: 10,
        quantity: item.quantity,
      })),
    };
    peers.orders.set(request.orderId, placed);
    return announce('placeOrder', placed);
  };
  return {
    async placeOrder(request: { orderId: string; currency: string; items: RequestedItem[] }): Promise<OrderWithItems> {
      return storeOrder(request);
    },
    async openCheckout(request: { orderId: string }): Promise<PaymentSession> {
      return announce('openCheckout', {
        url: `https://checkout.test/${request.orderId}`,
        sessionId: `cs_test_${request.orderId.slice(0, 8)}`,
      });
    },
    async setOrderStatus(orderId: string, status: OrderStatus): Promise<OrderWithItems> {
      return announce('setOrderStatus', update(orderId, { status }));
    },
    async rejectOrder(orderId: string, _rejection: Rejection): Promise<OrderWithItems> {
      return announce('rejectOrder', update(orderId, { status: 'CANCELLED' }));
    },
    /** As the worker's: signed with STUB_SIGNING_KEY, this order's, no other order's, the order's amount. */
    async acceptPayment(request: PaymentRequest): Promise<PaymentAcceptance> {
      const { payment, orderId, use } = request;
      const refused = (reason: string): PaymentAcceptance => announce('acceptPayment', { kind: 'refused', reason });
      if (!hasValidSignature(payment, STUB_SIGNING_KEY)) return refused('not signed by the gateway');
      if (payment.orderId !== orderId) return refused(`it names order ${payment.orderId}`);
      const recorded = peers.payments.find((entry) => entry.payment.stripePaymentId === payment.stripePaymentId);
      if (recorded !== undefined && recorded.payment.orderId !== orderId)
        return refused('already recorded for another order');
      const current = order(orderId);
      if (use.kind === 'check') return announce('acceptPayment', { kind: 'verified' });
      if (use.kind === 'receipt') {
        const filled =
          current.stripeChargeId === use.of && current.receiptUrl === null && payment.receiptUrl !== null
            ? update(orderId, { receiptUrl: payment.receiptUrl })
            : current;
        return announce('acceptPayment', { kind: 'receipt', order: filled });
      }
      const detail = mismatchOf(payment, current);
      const outcome: PaymentOutcome =
        recorded?.outcome ?? (detail !== null ? 'MISMATCH' : use.kind === 'pay' ? 'APPLIED' : 'REFUND_REQUESTED');
      if (recorded === undefined) peers.payments.push({ payment, outcome });
      const after =
        outcome === 'APPLIED' && current.status === 'PENDING'
          ? update(orderId, {
              status: 'PAID',
              paid: true,
              paidAt: new Date().toISOString(),
              stripeChargeId: payment.stripePaymentId,
              receiptUrl: payment.receiptUrl,
            })
          : current;
      return announce('acceptPayment', { kind: 'recorded', outcome, detail, order: after });
    },
    /** As the worker's: not yet while the deadline is ahead, then what an attempt stored, or null. */
    async settlePlacement(request: { orderId: string; deadline: number }): Promise<OrderWithItems | null> {
      if (Date.now() < request.deadline) {
        throw ApplicationFailure.create({ type: 'ServiceUnavailable', message: 'placement still open' });
      }
      return announce('settlePlacement', peers.orders.get(request.orderId) ?? null);
    },
    async identifyPayments(stripePaymentIds: string[]): Promise<Record<string, string | null>> {
      return announce(
        'identifyPayments',
        Object.fromEntries(
          stripePaymentIds.map((id) => [id, id.startsWith('pi_') ? id : (peers.paymentIntents.get(id) ?? null)]),
        ),
      );
    },
    async requestRefund(request: { orderId: string; stripePaymentId: string; reason: string }): Promise<boolean> {
      peers.refunds.push(request);
      announce('requestRefund', request);
      return true;
    },
    async expirePaymentSession(session: { orderId: string; sessionId: string }) {
      const status = peers.sessionStatus(session.orderId);
      return announce('expirePaymentSession', {
        expired: status === 'open',
        detail: `session is ${status === 'open' ? 'expired' : status}`,
        status: status === 'open' ? 'expired' : status,
      });
    },
    async loadOrder(orderId: string) {
      const paymentIds = peers.payments
        .filter((recorded) => recorded.payment.orderId === orderId)
        .map((recorded) => recorded.payment.stripePaymentId);
      return announce('loadOrder', {
        order: order(orderId),
        paymentSession: { url: `https://checkout.test/${orderId}`, sessionId: `cs_test_${orderId.slice(0, 8)}` },
        paymentIds,
        paymentWindowEndsAt: null,
      });
    },
    async keepPaymentWindowOpen(orderId: string): Promise<void> {
      announce('keepPaymentWindowOpen', orderId);
    },
  };
}

export interface StubWorker {
  client: Client;
  taskQueue: string;
  /** Starts an OrderWorkflow for a new order with these input settings. */
  start(settings?: Partial<OrderWorkflowInput>): Promise<ReturnType<Client['workflow']['getHandle']>>;
  stop(): Promise<void>;
}

export async function startStubWorker(peers: StubPeers): Promise<StubWorker> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  // Started as every other dev server is (the built CLI, the order search attributes, the raised
  // dynamic config); the test environment only connects to it.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orders-stub-worker-'));
  const port = await freePort();
  const server = await startService('temporal', {
    executable: process.env.TEMPORAL_CLI,
    port,
    detached: false,
    logFile: path.join(dir, 'temporal.log'),
  });
  const stopServer = async (): Promise<void> => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  const taskQueue = `stub-${randomUUID().slice(0, 8)}`;
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  try {
    env = await TestWorkflowEnvironment.createFromExistingServer({ address: `127.0.0.1:${port}` });
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: WORKFLOWS_PATH,
      bundlerOptions: WORKFLOW_BUNDLER_OPTIONS,
      activities: stubActivities(peers),
    });
  } catch (error) {
    await stopServer();
    throw error;
  }
  const running = worker.run();
  const { client } = env;
  return {
    client,
    taskQueue,
    async start(settings = {}) {
      const orderId = randomUUID();
      const input: OrderWorkflowInput = {
        orderId,
        items: [{ productId: 1, quantity: 1 }],
        currency: 'usd',
        placementTimeoutMs: 5_000,
        paymentWindowMs: 60_000,
        latePaymentGraceMs: 200,
        ...settings,
      };
      await client.workflow.start<typeof OrderWorkflow>(ORDER_WORKFLOW_TYPE, {
        workflowId: orderWorkflowId(orderId),
        taskQueue,
        args: [input],
        // As the gateway starts orders: OrderStatus = "PENDING" from the start.
        ...orderStartMetadata(input),
      });
      return client.workflow.getHandle(orderWorkflowId(orderId));
    },
    async stop() {
      worker.shutdown();
      await running;
      await env.teardown();
      await stopServer();
    },
  };
}
