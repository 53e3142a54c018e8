import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import {
  changeStatusUpdate,
  ORDER_WORKFLOW_TYPE,
  orderWorkflowId,
  paymentSucceededSignal,
  placeOrderUpdate,
} from '../../src/orders/workflow-api';
import { NEXT_CHANGE_ID } from '../fixtures/next-change';
import { eventually } from '../support/eventually';
import {
  ONE_ITEM,
  signedPayment,
  startStubTemporal,
  startStubWorker,
  stubPeers,
  type StubTemporal,
} from '../support/stub-worker';
import { workflowBundle } from './bundles';
import { localActivities, patchMarkers, timerDurationsMs, workflowTaskWorkers } from './history';

/**
 * An upgrade while orders are open (docs/upgrades.md, "How a change ships after 1.0"): the next
 * version of the workflow code (test/fixtures/next-order-workflow.ts) adds a command behind
 * `patched`. Orders started by the current code are waiting for their payment when a worker with
 * the next code takes over their task queue; it replays them (a fresh worker has none of them
 * cached) and they finish on the old path, while the orders it starts take the new one.
 */

const NEXT_WORKFLOWS = require.resolve('../fixtures/next-order-workflow');

let temporal: StubTemporal;

beforeAll(async () => {
  temporal = await startStubTemporal();
});

afterAll(async () => {
  await temporal?.stop();
});

const orderIdOf = (handle: WorkflowHandle): string => handle.workflowId.replace(/^order-/, '');

async function payAndDeliver(handle: WorkflowHandle): Promise<void> {
  const orderId = orderIdOf(handle);
  await handle.signal(paymentSucceededSignal, signedPayment(orderId, `pi_${orderId.slice(0, 8)}`));
  expect(await handle.executeUpdate(changeStatusUpdate, { args: ['DELIVERED'] })).toMatchObject({
    status: 'DELIVERED',
    paid: true,
  });
}

it('ships a change while orders of the current code are open: old and new orders both finish, each on its own path', async () => {
  const peers = stubPeers();
  const [current, next] = await Promise.all([workflowBundle(), workflowBundle(NEXT_WORKFLOWS)]);
  const currentWorker = await startStubWorker(temporal, { bundle: current, identity: 'current-code' });
  const oldOrders = [await currentWorker.start(peers), await currentWorker.start(peers)];
  for (const handle of oldOrders) {
    expect(await handle.executeUpdate(placeOrderUpdate)).toMatchObject({ order: { status: 'PENDING' } });
  }
  await currentWorker.stop();

  // The next code takes the queue over: the open orders' next tasks can only go to it.
  const nextWorker = await startStubWorker(temporal, {
    taskQueue: currentWorker.taskQueue,
    bundle: next,
    identity: 'next-code',
  });
  const newOrders = [await nextWorker.start(peers), await nextWorker.start(peers)];
  for (const handle of newOrders) {
    expect(await handle.executeUpdate(placeOrderUpdate)).toMatchObject({ order: { status: 'PENDING' } });
  }
  for (const handle of [...oldOrders, ...newOrders]) await payAndDeliver(handle);
  for (const handle of [...oldOrders, ...newOrders]) expect(await handle.result()).toBe('DELIVERED');

  const histories = async (handles: WorkflowHandle[]) =>
    Promise.all(handles.map(async (handle) => (await handle.fetchHistory()).events ?? []));
  for (const events of await histories(oldOrders)) {
    // Started and placed by the current code, then replayed and finished by the next: on the old path.
    expect(workflowTaskWorkers(events)).toEqual(['current-code', 'next-code']);
    expect(patchMarkers(events)).toEqual([]);
    expect(timerDurationsMs(events)).not.toContain(1);
    expect(localActivities(events).map((step) => step.type)).toEqual([
      'placeOrder',
      'openCheckout',
      'acceptPayment',
      'setOrderStatus',
    ]);
  }
  const newHistories = await histories(newOrders);
  for (const events of newHistories) {
    // The next code from the start: its marker, and its timer.
    expect(workflowTaskWorkers(events)).toEqual(['next-code']);
    expect(patchMarkers(events)).toEqual([NEXT_CHANGE_ID]);
    expect(timerDurationsMs(events).filter((ms) => ms === 1)).toHaveLength(1);
    expect(localActivities(events).map((step) => step.type)).toEqual([
      'placeOrder',
      'openCheckout',
      'acceptPayment',
      'setOrderStatus',
    ]);
  }

  // The change is a real change of commands: the current code cannot replay the new orders, while
  // the next code replays both kinds.
  const replay = async (bundle: typeof current, all: Array<Awaited<ReturnType<typeof histories>>[number]>) => {
    const failed: string[] = [];
    const items = all.map((events, index) => ({ workflowId: `replay-${index}`, history: { events } }));
    for await (const result of Worker.runReplayHistories({ workflowBundle: bundle }, items)) {
      if (result.error !== undefined) failed.push(result.workflowId);
    }
    return failed;
  };
  expect(await replay(next, [...(await histories(oldOrders)), ...newHistories])).toEqual([]);
  expect(await replay(current, newHistories)).toEqual(['replay-0', 'replay-1']);
});

it('leaves an order started before 1.0 (no start mode in its input) running for a 0.x worker, failing only its task', async () => {
  const worker = await startStubWorker(temporal);
  const orderId = randomUUID();
  // The input 0.x builds gave a new order: items and currency at the top, no `start`.
  const handle = await worker.client.workflow.start(ORDER_WORKFLOW_TYPE, {
    workflowId: orderWorkflowId(orderId),
    taskQueue: worker.taskQueue,
    args: [{ orderId, items: ONE_ITEM, currency: 'usd', placementTimeoutMs: 5_000, paymentWindowMs: 60_000 }],
  });
  // The task fails, and is retried, with the reason; the workflow itself does not fail.
  const message = await eventually(async () => {
    const events = (await handle.fetchHistory()).events ?? [];
    const failed = events.find((event) => event.workflowTaskFailedEventAttributes);
    const reason = failed?.workflowTaskFailedEventAttributes?.failure?.message;
    if (typeof reason !== 'string') throw new Error('no workflow task has failed yet');
    return reason;
  });
  expect(message).toContain(`order ${orderId} was started before 1.0: drain it on a 0.x worker`);
  expect((await handle.describe()).status.name).toBe('RUNNING');
  await handle.terminate('test over');
  await worker.stop();
});
