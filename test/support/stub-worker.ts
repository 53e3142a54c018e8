import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, type WorkerOptions, type WorkflowBundlePath } from '@temporalio/worker';
import { startService } from '../../dev/infra/start-service';
import { freePort } from '../../dev/infra/ports';
import type { OrderActivities } from '../../src/activities';
import { mismatchOf, type PaymentAcceptance, type PaymentRequest } from '../../src/activities/payment-acceptance';
import type { PaymentOutcome } from '../../src/db/orders-repository';
import { orderStartMetadata } from '../../src/gateway/workflow-metadata';
import type { Rejection } from '../../src/orders/errors';
import type {
  OrderStatus,
  OrderWithItems,
  PaymentSession,
  PaymentSucceeded,
  RequestedItem,
  SignedPayment,
} from '../../src/orders/types';
import {
  ORDER_WORKFLOW_TYPE,
  orderWorkflowId,
  type OrderWorkflowInput,
  type PlacementDeadline,
  type PlaceStart,
} from '../../src/orders/workflow-api';
import { hasValidSignature, signPayment } from '../../src/security/payment-signature';
import type { OrderWorkflow } from '../../src/workflows/order-workflow';
import { workflowBundle } from '../workflow/bundles';

/**
 * OrderWorkflow on a real Temporal dev server of its own (so the run's audit never sees these
 * orders), with in-memory activities: for the workflow's own decisions (timers, waits, what it
 * asks and when), fast and without peers.
 *
 * Strict stubs: every activity call is checked against the order of the workflow that made it,
 * may be made to fail before it does anything (`failCalls`), and is counted for its order only.
 * Each test gets peers of its own (`stubPeers()`, in a `beforeEach`), and the worker answers each
 * order's activities with the peers it was started with, so no state passes from one test to the next.
 */

/** An activity the stub worker answers. */
export type StubActivity = keyof OrderActivities;

/** The settings of a test order; `placeInput` turns them into the workflow's input. */
export interface OrderSettings {
  currency?: string;
  /** A keyless create's deadline (the caller's); none when the caller gave an idempotencyKey. */
  deadline?: PlacementDeadline | null;
  placementTimeoutMs?: number;
  paymentWindowMs?: number;
  latePaymentGraceMs?: number;
  messagesPerRun?: number;
}

/** One product, once: the stub prices every item at 10. */
export const ONE_ITEM: RequestedItem[] = [{ productId: 1, quantity: 1 }];

/**
 * The input of a new order's workflow. Every OrderWorkflowInput the tests build is built here, so a
 * change of the input's shape is a change of this function only.
 */
export function placeInput(
  orderId: string,
  items: RequestedItem[] = ONE_ITEM,
  settings: OrderSettings = {},
): OrderWorkflowInput & { start: PlaceStart } {
  return {
    orderId,
    placementTimeoutMs: settings.placementTimeoutMs ?? 5_000,
    paymentWindowMs: settings.paymentWindowMs ?? 60_000,
    latePaymentGraceMs: settings.latePaymentGraceMs ?? 200,
    messagesPerRun: settings.messagesPerRun ?? 1_000,
    start: { kind: 'place', items, currency: settings.currency ?? 'usd', deadline: settings.deadline ?? null },
  };
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

/** Why a call fails: an error, or a function of the calling order that answers one. */
export type StubFailure = Error | ((orderId: string) => Error);

/**
 * What the stub activities read and write, for the orders of one test: the stored orders, the
 * recorded payments and requested refunds, and every call, per order.
 */
export class StubPeers {
  readonly orders = new Map<string, OrderWithItems>();
  readonly payments: Array<{ payment: PaymentSucceeded; outcome: PaymentOutcome }> = [];
  readonly refunds: Array<{ orderId: string; stripePaymentId: string; reason: string }> = [];
  /** The payment intent behind a Stripe payment id (charge ids map to their payment intent). */
  readonly paymentIntents = new Map<string, string>();
  /** What Stripe says of an order's checkout session when the workflow expires it. */
  sessionStatus: (orderId: string) => 'open' | 'complete' = () => 'open';

  private readonly failing = new Map<StubActivity, StubFailure>();
  private readonly attempted: Array<{ activity: StubActivity; orderId: string }> = [];
  private readonly completed: Array<{ activity: StubActivity; orderId: string }> = [];
  private readonly waiters: Array<{ activity: StubActivity; orderId: string; resolve: (value: unknown) => void }> = [];

  /** Every call of `activity` fails, before it does anything, until the returned function is called. */
  failCalls(activity: StubActivity, failure: StubFailure): () => void {
    this.failing.set(activity, failure);
    return () => {
      if (this.failing.get(activity) === failure) this.failing.delete(activity);
    };
  }

  /** How often the workflow of `orderId` called `activity`, failed attempts included. */
  attempts(orderId: string, activity: StubActivity): number {
    return this.attempted.filter((call) => call.orderId === orderId && call.activity === activity).length;
  }

  /** How often a call of `activity` by the workflow of `orderId` did its work and answered. */
  calls(orderId: string, activity: StubActivity): number {
    return this.completed.filter((call) => call.orderId === orderId && call.activity === activity).length;
  }

  /** Resolves with the answer of the next call of `activity` by the workflow of `orderId` that does its work. */
  nextCall(orderId: string, activity: StubActivity): Promise<unknown> {
    return new Promise((resolve) => this.waiters.push({ activity, orderId, resolve }));
  }

  /** The payments recorded for `orderId`: [payment id, outcome], in the order they were recorded. */
  paymentsOf(orderId: string): Array<[string, PaymentOutcome]> {
    return this.payments
      .filter((recorded) => recorded.payment.orderId === orderId)
      .map((recorded) => [recorded.payment.stripePaymentId, recorded.outcome]);
  }

  /** The refunds requested for `orderId`. */
  refundsOf(orderId: string): Array<{ orderId: string; stripePaymentId: string; reason: string }> {
    return this.refunds.filter((refund) => refund.orderId === orderId);
  }

  /**
   * Stores an order (once) as placement's commit does: the stub's placeOrder calls it, and a test
   * calls it for an attempt that committed while its answer was lost.
   */
  commitOrder(request: { orderId: string; currency: string; items: RequestedItem[] }): OrderWithItems {
    const existing = this.orders.get(request.orderId);
    if (existing) return existing;
    const now = new Date().toISOString();
    const totalItems = request.items.reduce((sum, item) => sum + item.quantity, 0);
    const placed: OrderWithItems = {
      id: request.orderId,
      totalAmount: 10 * totalItems,
      totalItems,
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
    this.orders.set(request.orderId, placed);
    return placed;
  }

  /** A call begins: counted, then failed if the test wants it to, before anything is done. */
  enter(activity: StubActivity, orderId: string): void {
    this.attempted.push({ activity, orderId });
    const failure = this.failing.get(activity);
    if (failure !== undefined) throw typeof failure === 'function' ? failure(orderId) : failure;
  }

  /** A call did its work and answers `value`: counted, and announced to whoever waits for it. */
  answer<T>(activity: StubActivity, orderId: string, value: T): T {
    this.completed.push({ activity, orderId });
    const waiting = this.waiters.filter((waiter) => waiter.activity === activity && waiter.orderId === orderId);
    for (const waiter of waiting) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(value);
    }
    return value;
  }
}

/** Fresh peers: one per test. */
export function stubPeers(): StubPeers {
  return new StubPeers();
}

/** A misuse of the stubs (a call for another order, or for an order no test started): fails for good. */
const misuse = (message: string): ApplicationFailure => ApplicationFailure.nonRetryable(message, 'StubMisuse');

function stubActivities(peersOf: (orderId: string) => StubPeers): Partial<OrderActivities> {
  /**
   * One call: from the order of the calling workflow (an order named in the arguments must be that
   * one), with the peers that order was started with; counted and possibly failed before `act`.
   */
  const call = <T>(activity: StubActivity, named: string | null, act: (peers: StubPeers, orderId: string) => T): T => {
    const workflowId = Context.current().info.workflowExecution?.workflowId ?? '(no workflow)';
    const orderId = workflowId.replace(/^order-/, '');
    if (named !== null && named !== orderId) {
      throw misuse(`${activity} for order ${named} called by the workflow ${workflowId}`);
    }
    const peers = peersOf(orderId);
    peers.enter(activity, orderId);
    return peers.answer(activity, orderId, act(peers, orderId));
  };
  const order = (peers: StubPeers, orderId: string): OrderWithItems => {
    const found = peers.orders.get(orderId);
    if (found === undefined) throw misuse(`no order ${orderId} is stored`);
    return found;
  };
  const update = (peers: StubPeers, orderId: string, change: Partial<OrderWithItems>): OrderWithItems => {
    const next = { ...order(peers, orderId), ...change, updatedAt: new Date().toISOString() };
    peers.orders.set(orderId, next);
    return next;
  };
  const session = (orderId: string): PaymentSession => ({
    url: `https://checkout.test/${orderId}`,
    sessionId: `cs_test_${orderId.slice(0, 8)}`,
  });
  return {
    async placeOrder(request: { orderId: string; currency: string; items: RequestedItem[] }) {
      return call('placeOrder', request.orderId, (peers) => peers.commitOrder(request));
    },
    async openCheckout(request: { orderId: string }): Promise<PaymentSession> {
      return call('openCheckout', request.orderId, (peers, orderId) => {
        order(peers, orderId);
        return session(orderId);
      });
    },
    async setOrderStatus(orderId: string, status: OrderStatus): Promise<OrderWithItems> {
      return call('setOrderStatus', orderId, (peers) => update(peers, orderId, { status }));
    },
    async rejectOrder(orderId: string, _rejection: Rejection): Promise<OrderWithItems> {
      return call('rejectOrder', orderId, (peers) => update(peers, orderId, { status: 'CANCELLED' }));
    },
    /** As the worker's: signed with STUB_SIGNING_KEY, this order's, no other order's, the order's amount. */
    async acceptPayment(request: PaymentRequest): Promise<PaymentAcceptance> {
      return call('acceptPayment', request.orderId, (peers, orderId): PaymentAcceptance => {
        const { payment, use } = request;
        const refused = (reason: string): PaymentAcceptance => ({ kind: 'refused', reason });
        if (!hasValidSignature(payment, STUB_SIGNING_KEY)) return refused('not signed by the gateway');
        if (payment.orderId !== orderId) return refused(`it names order ${payment.orderId}`);
        const recorded = peers.payments.find((entry) => entry.payment.stripePaymentId === payment.stripePaymentId);
        if (recorded !== undefined && recorded.payment.orderId !== orderId) {
          return refused('already recorded for another order');
        }
        const current = order(peers, orderId);
        if (use.kind === 'check') return { kind: 'verified' };
        if (use.kind === 'receipt') {
          const filled =
            current.stripeChargeId === use.of && current.receiptUrl === null && payment.receiptUrl !== null
              ? update(peers, orderId, { receiptUrl: payment.receiptUrl })
              : current;
          return { kind: 'receipt', order: filled };
        }
        const detail = mismatchOf(payment, current);
        const outcome: PaymentOutcome =
          recorded?.outcome ?? (detail !== null ? 'MISMATCH' : use.kind === 'pay' ? 'APPLIED' : 'REFUND_REQUESTED');
        if (recorded === undefined) peers.payments.push({ payment, outcome });
        const after =
          outcome === 'APPLIED' && current.status === 'PENDING'
            ? update(peers, orderId, {
                status: 'PAID',
                paid: true,
                paidAt: new Date().toISOString(),
                stripeChargeId: payment.stripePaymentId,
                receiptUrl: payment.receiptUrl,
              })
            : current;
        return { kind: 'recorded', outcome, detail, order: after };
      });
    },
    /** As the worker's: not yet while the deadline is ahead, then what an attempt stored, or null. */
    async settlePlacement(request: { orderId: string; deadline: number }): Promise<OrderWithItems | null> {
      return call('settlePlacement', request.orderId, (peers, orderId) => {
        if (Date.now() < request.deadline) {
          throw ApplicationFailure.create({ type: 'ServiceUnavailable', message: 'placement still open' });
        }
        return peers.orders.get(orderId) ?? null;
      });
    },
    async identifyPayments(stripePaymentIds: string[]): Promise<Record<string, string | null>> {
      return call('identifyPayments', null, (peers) =>
        Object.fromEntries(
          stripePaymentIds.map((id) => [id, id.startsWith('pi_') ? id : (peers.paymentIntents.get(id) ?? null)]),
        ),
      );
    },
    async requestRefund(request: { orderId: string; stripePaymentId: string; reason: string }): Promise<boolean> {
      return call('requestRefund', request.orderId, (peers) => {
        peers.refunds.push({
          orderId: request.orderId,
          stripePaymentId: request.stripePaymentId,
          reason: request.reason,
        });
        return true;
      });
    },
    async expirePaymentSession(request: { orderId: string; sessionId: string }) {
      return call('expirePaymentSession', request.orderId, (peers, orderId) => {
        const status = peers.sessionStatus(orderId);
        return {
          expired: status === 'open',
          detail: `session is ${status === 'open' ? 'expired' : status}`,
          status: status === 'open' ? 'expired' : status,
        };
      });
    },
    async loadOrder(orderId: string) {
      return call('loadOrder', orderId, (peers) => ({
        order: order(peers, orderId),
        paymentSession: session(orderId),
        paymentIds: peers.paymentsOf(orderId).map(([id]) => id),
        paymentWindowEndsAt: null,
      }));
    },
    async keepPaymentWindowOpen(orderId: string): Promise<void> {
      call('keepPaymentWindowOpen', orderId, () => undefined);
    },
  };
}

/** A Temporal dev server of the test file's own, and which test's peers answer each of its orders. */
export interface StubTemporal {
  client: Client;
  env: TestWorkflowEnvironment;
  /** The peers that answer the activities of each order's workflow, set when a test starts it. */
  owners: Map<string, StubPeers>;
  /** The workers still running: stopped with the server. */
  workers: Set<StubWorker>;
  stop(): Promise<void>;
}

export async function startStubTemporal(): Promise<StubTemporal> {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // Installed by an earlier test file in this process.
  }
  // Started as every other dev server is (the built CLI, the order search attributes, the raised
  // dynamic config); the test environment only connects to it. The bundle is built meanwhile.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orders-stub-worker-'));
  const port = await freePort();
  const bundling = workflowBundle();
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
  let env: TestWorkflowEnvironment;
  try {
    env = await TestWorkflowEnvironment.createFromExistingServer({ address: `127.0.0.1:${port}` });
    await bundling;
  } catch (error) {
    await stopServer();
    throw error;
  }
  const workers = new Set<StubWorker>();
  return {
    client: env.client,
    env,
    owners: new Map(),
    workers,
    async stop() {
      await Promise.all([...workers].map((worker) => worker.stop()));
      await env.teardown();
      await stopServer();
    },
  };
}

export interface StubWorkerOptions {
  /** Another worker's queue, to take over its orders; a new queue by default. */
  taskQueue?: string;
  /** The workflow code: src/workflows by default. */
  bundle?: WorkflowBundlePath;
  identity?: string;
  worker?: Pick<WorkerOptions, 'maxCachedWorkflows' | 'stickyQueueScheduleToStartTimeout'>;
}

export interface StubWorker {
  client: Client;
  taskQueue: string;
  identity: string;
  /** Starts the workflow of a new order, answered by `peers`, as the gateway starts it. */
  start(peers: StubPeers, settings?: OrderSettings & { items?: RequestedItem[] }): Promise<WorkflowHandle>;
  stop(): Promise<void>;
}

export async function startStubWorker(temporal: StubTemporal, options: StubWorkerOptions = {}): Promise<StubWorker> {
  const { env, owners, workers, client } = temporal;
  const taskQueue = options.taskQueue ?? `stub-${randomUUID().slice(0, 8)}`;
  const identity = options.identity ?? `stub-worker-${randomUUID().slice(0, 8)}`;
  const peersOf = (orderId: string): StubPeers => {
    const peers = owners.get(orderId);
    if (peers === undefined) throw misuse(`order ${orderId} was not started by a test`);
    return peers;
  };
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    identity,
    workflowBundle: options.bundle ?? (await workflowBundle()),
    activities: stubActivities(peersOf),
    ...options.worker,
  });
  const running = worker.run();
  const stub: StubWorker = {
    client,
    taskQueue,
    identity,
    async start(peers, { items = ONE_ITEM, ...settings } = {}) {
      const orderId = randomUUID();
      owners.set(orderId, peers);
      const input = placeInput(orderId, items, settings);
      return client.workflow.start<typeof OrderWorkflow>(ORDER_WORKFLOW_TYPE, {
        workflowId: orderWorkflowId(orderId),
        taskQueue,
        args: [input],
        // As the gateway starts orders: OrderStatus = "PENDING" from the start.
        ...orderStartMetadata(orderId, input.start),
      });
    },
    async stop() {
      workers.delete(stub);
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
  workers.add(stub);
  return stub;
}
