import { WorkflowContinuedAsNewError, WorkflowUpdateFailedError, WorkflowUpdateStage } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  changeStatusUpdate,
  getOrderQuery,
  OrderStatusAttribute,
  paymentSucceededSignal,
  paymentWindowEndedSignal,
  placeOrderUpdate,
} from '../src/orders/workflow-api';
import { FailureType, orderFailure } from '../src/orders/errors';
import { signPayment } from '../src/security/payment-signature';
import {
  ONE_ITEM,
  signedPayment,
  startStubTemporal,
  startStubWorker,
  stubPeers,
  type OrderSettings,
  type StubPeers,
  type StubTemporal,
  type StubWorker,
} from './support/stub-worker';
import { eventually } from './support/eventually';
import { eventTimeMs, localActivities, timersStarted } from './workflow/history';

/** OrderWorkflow's own decisions, on the real dev server with in-memory activities. */

let temporal: StubTemporal;
let stub: StubWorker;
/** This test's peers: fresh for every test, and answering only the orders it starts. */
let peers: StubPeers;

beforeAll(async () => {
  temporal = await startStubTemporal();
  stub = await startStubWorker(temporal);
});

afterAll(async () => {
  await temporal?.stop();
});

beforeEach(() => {
  peers = stubPeers();
});

const orderIdOf = (workflowId: string): string => workflowId.replace(/^order-/, '');
const pay = signedPayment;
/** Starts a new order answered by this test's peers. */
const start = (settings: OrderSettings & { items?: typeof ONE_ITEM } = {}) => stub.start(peers, settings);

/** The failure the caller of an update receives. */
async function updateFailure(update: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await update.then(
    () => undefined,
    (failed: unknown) => failed,
  );
  expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (error as WorkflowUpdateFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

describe('placement', () => {
  it('rejects an order with unknown products: REJECTED at once, no checkout and no order', async () => {
    const failure = ApplicationFailure.create({
      type: 'ProductsNotFound',
      message: 'Products not found: 404',
      nonRetryable: true,
    });
    peers.failCalls('placeOrder', failure);
    const handle = await start({ items: [{ productId: 404, quantity: 1 }] });
    const orderId = orderIdOf(handle.workflowId);
    // Not retried (a 4xx of the products service): the workflow ends without a second attempt.
    expect(await handle.result()).toBe('REJECTED');
    expect(await handle.query(getOrderQuery)).toBeNull();
    // Found in the Web UI and the CLI with OrderStatus = "REJECTED".
    expect((await handle.describe()).typedSearchAttributes.get(OrderStatusAttribute)).toBe('REJECTED');
    expect(peers.attempts(orderId, 'placeOrder')).toBe(1);
    // The stub failed before it stored anything, and nothing was stored, checked out or written since.
    expect(peers.orders.has(orderId)).toBe(false);
    expect(peers.attempts(orderId, 'openCheckout')).toBe(0);
    expect(peers.attempts(orderId, 'setOrderStatus')).toBe(0);
    expect(peers.attempts(orderId, 'rejectOrder')).toBe(0);
    expect(timersStarted((await handle.fetchHistory()).events ?? [])).toEqual([]);
  });

  it('cancels a stored order at once when its checkout cannot be opened, and tells the caller', async () => {
    const placementTimeoutMs = 1_000;
    peers.failCalls('openCheckout', new Error('payments service down'));
    // A payment window of a minute: "at once" is long before it, and without waiting for anything.
    const handle = await start({ placementTimeoutMs, paymentWindowMs: 60_000 });
    const orderId = orderIdOf(handle.workflowId);
    const failure = await updateFailure(handle.executeUpdate(placeOrderUpdate));
    expect({ type: failure.type, message: failure.message }).toEqual({
      type: 'PaymentSessionFailed',
      message: `The payment session for order ${orderId} could not be created; the order was cancelled`,
    });
    expect(peers.orders.get(orderId)?.status).toBe('CANCELLED');
    expect(await handle.query(getOrderQuery)).toMatchObject({ id: orderId, status: 'CANCELLED' });
    expect(await handle.result()).toBe('CANCELLED');
    // The checkout was retried within the placement timeout, then the order cancelled straight away:
    // the cancel is the step right after the last failed attempt, no timer in between, and it came
    // within the placement timeout of the start (and so nowhere near the end of the payment window).
    const events = (await handle.fetchHistory()).events ?? [];
    const steps = localActivities(events);
    expect(steps.map((step) => [step.type, step.failed])).toEqual([
      ['placeOrder', false],
      ['openCheckout', true],
      ['setOrderStatus', false],
    ]);
    expect(peers.attempts(orderId, 'openCheckout')).toBeGreaterThanOrEqual(2);
    const [, gaveUp, cancelled] = steps as [unknown, { completedAtMs: number }, { completedAtMs: number }];
    expect(cancelled.completedAtMs - gaveUp.completedAtMs).toBeLessThan(500);
    expect(cancelled.completedAtMs - eventTimeMs(events[0] ?? {})).toBeLessThan(placementTimeoutMs + 1_500);
    const cancelIndex = events.map((event) => event.markerRecordedEventAttributes != null).lastIndexOf(true);
    expect(timersStarted(events.slice(0, cancelIndex))).toEqual([]);
  });
});

describe('placement while the database is away', () => {
  it("rejects the order, and its history keeps the database's own error for operators", async () => {
    const underneath = new Error('connect ECONNREFUSED 10.0.0.5:5432');
    peers.failCalls(
      'placeOrder',
      orderFailure(FailureType.DatabaseUnavailable, 'The database is unavailable', undefined, underneath),
    );
    const handle = await start({ placementTimeoutMs: 600 });
    expect(await handle.result()).toBe('REJECTED');
    const events = (await handle.fetchHistory()).events ?? [];
    // Retried within the placement timeout (an outage), then given up.
    expect(localActivities(events).map((step) => [step.type, step.failed])).toEqual([['placeOrder', true]]);
    expect(peers.attempts(orderIdOf(handle.workflowId), 'placeOrder')).toBe(2);
    const recorded = events.find((event) => event.markerRecordedEventAttributes?.failure != null);
    expect(JSON.stringify(recorded?.markerRecordedEventAttributes?.failure)).toContain('ECONNREFUSED 10.0.0.5:5432');
  });
});

describe('a keyless create whose placement fails before its deadline', () => {
  it('cancels what an abandoned attempt stored, once the deadline has passed, and answers that nothing was kept', async () => {
    // An attempt abandoned while it commits: its order is stored, then its answer is lost.
    peers.failCalls('placeOrder', (orderId) => {
      peers.commitOrder({ orderId, currency: 'usd', items: ONE_ITEM });
      return ApplicationFailure.create({ type: 'ServiceUnavailable', message: 'products service unavailable' });
    });
    const deadline = Date.now() + 1_500;
    const handle = await start({ placementTimeoutMs: 600, deadline: { at: deadline, callerTimeoutMs: 1_500 } });
    const orderId = orderIdOf(handle.workflowId);
    const failure = await updateFailure(handle.executeUpdate(placeOrderUpdate));
    expect(failure.type).toBe('PlacementTimedOut');
    // Answered only once the deadline had passed, with the stored order cancelled by then.
    expect(Date.now()).toBeGreaterThanOrEqual(deadline);
    expect(peers.orders.get(orderId)).toMatchObject({ status: 'CANCELLED' });
    expect(await handle.query(getOrderQuery)).toMatchObject({ status: 'CANCELLED' });
    expect(peers.calls(orderId, 'settlePlacement')).toBe(1);
    await handle.terminate('test done');
  });
});

describe('payments', () => {
  it('applies the same payment id once, however often it is reported', async () => {
    const handle = await start();
    const orderId = orderIdOf(handle.workflowId);
    await handle.executeUpdate(placeOrderUpdate);
    await handle.signal(paymentSucceededSignal, pay(orderId, 'pi_twice'));
    await handle.signal(paymentSucceededSignal, pay(orderId, 'pi_twice'));
    // Delivered after both payments: the inbox applied them first.
    expect(await handle.executeUpdate(changeStatusUpdate, { args: ['DELIVERED'] })).toMatchObject({
      status: 'DELIVERED',
      stripeChargeId: 'pi_twice',
    });
    expect(peers.calls(orderId, 'acceptPayment')).toBe(1);
    expect(peers.refundsOf(orderId)).toEqual([]);
    expect(await handle.result()).toBe('DELIVERED');
  });

  it('records a payment that arrives after cancellation and requests its refund', async () => {
    const handle = await start({ latePaymentGraceMs: 2_000 });
    const orderId = orderIdOf(handle.workflowId);
    await handle.executeUpdate(placeOrderUpdate);
    expect(await handle.executeUpdate(changeStatusUpdate, { args: ['CANCELLED'] })).toMatchObject({
      status: 'CANCELLED',
    });
    const refunded = peers.nextCall(orderId, 'requestRefund');
    await handle.signal(paymentSucceededSignal, pay(orderId, 'pi_too_late'));
    await refunded;
    expect(peers.refundsOf(orderId)).toEqual([
      { orderId, stripePaymentId: 'pi_too_late', reason: 'payment received for a CANCELLED order' },
    ]);
    expect(peers.paymentsOf(orderId)).toEqual([['pi_too_late', 'REFUND_REQUESTED']]);
    expect(await handle.query(getOrderQuery)).toMatchObject({ status: 'CANCELLED', paid: false });
    expect(await handle.result()).toBe('CANCELLED');
  });
});

describe('the inbox keeps arrival order', () => {
  it('a payment then an immediate DELIVERED: delivered after it is paid, never refused', async () => {
    const handle = await start();
    const orderId = orderIdOf(handle.workflowId);
    await handle.executeUpdate(placeOrderUpdate);
    await handle.signal(paymentSucceededSignal, pay(orderId, 'pi_then_deliver'));
    expect(await handle.executeUpdate(changeStatusUpdate, { args: ['DELIVERED'] })).toMatchObject({
      status: 'DELIVERED',
      paid: true,
      stripeChargeId: 'pi_then_deliver',
    });
    expect(await handle.result()).toBe('DELIVERED');
  });

  it('a cancel accepted before a payment: cancelled, and the payment refunded', async () => {
    const handle = await start({ latePaymentGraceMs: 2_000 });
    const orderId = orderIdOf(handle.workflowId);
    await handle.executeUpdate(placeOrderUpdate);
    const refunded = peers.nextCall(orderId, 'requestRefund');
    const cancel = await handle.startUpdate(changeStatusUpdate, {
      args: ['CANCELLED'],
      waitForStage: WorkflowUpdateStage.ACCEPTED,
    });
    await handle.signal(paymentSucceededSignal, pay(orderId, 'pi_after_cancel'));
    expect(await cancel.result()).toMatchObject({ status: 'CANCELLED', paid: false });
    await refunded;
    expect(peers.refundsOf(orderId).map((refund) => refund.reason)).toEqual(['payment received for a CANCELLED order']);
  });

  it('a payment before a cancel: paid, then cancelled with its refund requested', async () => {
    const handle = await start();
    const orderId = orderIdOf(handle.workflowId);
    await handle.executeUpdate(placeOrderUpdate);
    const refunded = peers.nextCall(orderId, 'requestRefund');
    await handle.signal(paymentSucceededSignal, pay(orderId, 'pi_before_cancel'));
    expect(await handle.executeUpdate(changeStatusUpdate, { args: ['CANCELLED'] })).toMatchObject({
      status: 'CANCELLED',
      stripeChargeId: 'pi_before_cancel',
    });
    await refunded;
    expect(peers.refundsOf(orderId)).toEqual([
      { orderId, stripePaymentId: 'pi_before_cancel', reason: 'order cancelled after payment' },
    ]);
  });
});

describe('the payment window', () => {
  it('ignores a window signal before the window has ended on its own clock', async () => {
    const handle = await start({ paymentWindowMs: 60_000 });
    const orderId = orderIdOf(handle.workflowId);
    await handle.executeUpdate(placeOrderUpdate);
    await handle.signal(paymentWindowEndedSignal);
    // A query waits for the workflow task that handles the signal before it.
    expect(await handle.query(getOrderQuery)).toMatchObject({ status: 'PENDING' });
    expect(peers.calls(orderId, 'expirePaymentSession')).toBe(0);
    await handle.executeUpdate(changeStatusUpdate, { args: ['CANCELLED'] });
  });

  it('expires the open checkout once and cancels the unpaid order when the ended window is signalled', async () => {
    peers.sessionStatus = () => 'open';
    const handle = await start({ paymentWindowMs: 1 });
    const orderId = orderIdOf(handle.workflowId);
    await handle.executeUpdate(placeOrderUpdate);
    await handle.signal(paymentWindowEndedSignal);
    await handle.signal(paymentWindowEndedSignal);
    expect(await handle.result()).toBe('CANCELLED');
    expect(peers.calls(orderId, 'expirePaymentSession')).toBe(1);
    expect(peers.orders.get(orderId)).toMatchObject({ status: 'CANCELLED', paid: false });
    expect(peers.refundsOf(orderId)).toEqual([]);
  });

  it('waits for the payment of a checkout found complete however late it comes, and is not signalled again', async () => {
    peers.sessionStatus = () => 'complete';
    const handle = await start({ paymentWindowMs: 1 });
    const orderId = orderIdOf(handle.workflowId);
    await handle.executeUpdate(placeOrderUpdate);
    const keptOpen = peers.nextCall(orderId, 'keepPaymentWindowOpen');
    await handle.signal(paymentWindowEndedSignal);
    await keptOpen;
    expect(peers.calls(orderId, 'keepPaymentWindowOpen')).toBe(1);
    // Once the checkout is found complete the window no longer ends: a second signal changes nothing.
    await handle.signal(paymentWindowEndedSignal);
    expect(await handle.query(getOrderQuery)).toMatchObject({ status: 'PENDING' });
    expect(peers.calls(orderId, 'expirePaymentSession')).toBe(1);
    await handle.signal(paymentSucceededSignal, pay(orderId, 'pi_very_late'));
    expect(await handle.executeUpdate(changeStatusUpdate, { args: ['DELIVERED'] })).toMatchObject({
      status: 'DELIVERED',
      stripeChargeId: 'pi_very_late',
    });
    expect(peers.refundsOf(orderId)).toEqual([]);
  });
});

describe('what a paid order costs Temporal', () => {
  it('starts no timer, records no patch marker and upserts search attributes only when the status changes', async () => {
    const handle = await start();
    const orderId = orderIdOf(handle.workflowId);
    await handle.executeUpdate(placeOrderUpdate);
    await handle.signal(paymentSucceededSignal, pay(orderId, 'pi_cost'));
    // The signal is accepted before the workflow has applied it: the order is PAID a task later.
    await eventually(async () => expect(await handle.query(getOrderQuery)).toMatchObject({ status: 'PAID' }));
    const events = (await handle.fetchHistory()).events ?? [];
    expect(events.filter((event) => event.timerStartedEventAttributes != null)).toEqual([]);
    // Placement's two local activities (store, open the checkout) and the payment's one.
    const markers = events.map((event) => event.markerRecordedEventAttributes?.markerName).filter(Boolean);
    expect(markers).toEqual(['core_local_activity', 'core_local_activity', 'core_local_activity']);
    const upserted = events
      .filter((event) => event.upsertWorkflowSearchAttributesEventAttributes != null)
      .map((event) =>
        Object.keys(event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}).sort(),
      );
    // PENDING was given at start: the one upsert is the order's first status change, PAID.
    expect(upserted).toEqual([['OrderStatus', 'OrderTotal', 'PaymentId']]);
    await handle.executeUpdate(changeStatusUpdate, { args: ['CANCELLED'] });
  });
});

describe('one payment under two ids', () => {
  it('does not refund the charge id of the payment intent that paid the order, and refunds a different payment', async () => {
    peers.paymentIntents.set('ch_same_1', 'pi_paid_1').set('ch_other_1', 'pi_other_1');
    const handle = await start();
    const orderId = orderIdOf(handle.workflowId);
    await handle.executeUpdate(placeOrderUpdate);
    await handle.signal(paymentSucceededSignal, pay(orderId, 'pi_paid_1'));
    await handle.signal(paymentSucceededSignal, pay(orderId, 'ch_same_1', 'https://pay.stripe.com/receipts/1'));
    const refunded = peers.nextCall(orderId, 'requestRefund');
    await handle.signal(paymentSucceededSignal, pay(orderId, 'ch_other_1'));
    await refunded;
    expect(peers.refundsOf(orderId).map((refund) => refund.stripePaymentId)).toEqual(['ch_other_1']);
    // The charge event brought the receipt the first one lacked.
    expect(await handle.query(getOrderQuery)).toMatchObject({
      status: 'PAID',
      stripeChargeId: 'pi_paid_1',
      receiptUrl: 'https://pay.stripe.com/receipts/1',
    });
    expect(peers.paymentsOf(orderId).map(([id]) => id)).toEqual(['pi_paid_1', 'ch_other_1']);
    await handle.executeUpdate(changeStatusUpdate, { args: ['DELIVERED'] });
    expect(await handle.result()).toBe('DELIVERED');
  });

  it('the other way round: paid under the charge id, then reported under its payment intent', async () => {
    peers.paymentIntents.set('ch_paid_2', 'pi_paid_2');
    const handle = await start();
    const orderId = orderIdOf(handle.workflowId);
    await handle.executeUpdate(placeOrderUpdate);
    await handle.signal(paymentSucceededSignal, pay(orderId, 'ch_paid_2'));
    const identified = peers.nextCall(orderId, 'identifyPayments');
    await handle.signal(paymentSucceededSignal, pay(orderId, 'pi_paid_2'));
    await identified;
    await handle.executeUpdate(changeStatusUpdate, { args: ['DELIVERED'] });
    expect(await handle.result()).toBe('DELIVERED');
    expect(peers.refundsOf(orderId)).toEqual([]);
  });
});

describe('a long-lived order', () => {
  it('continues as new after a bounded number of messages, carrying the order, its payments and its session', async () => {
    const handle = await start({ messagesPerRun: 2 });
    const orderId = orderIdOf(handle.workflowId);
    const { paymentSession } = await handle.executeUpdate(placeOrderUpdate);
    const firstRun = (await handle.describe()).runId;
    const payment = pay(orderId, 'pi_long_lived');
    await handle.signal(paymentSucceededSignal, payment);
    await handle.signal(paymentSucceededSignal, payment);
    // Two messages handled: the first run ends by continuing as new, and the next holds the order.
    await expect(
      stub.client.workflow.result(handle.workflowId, firstRun, { followRuns: false }),
    ).rejects.toBeInstanceOf(WorkflowContinuedAsNewError);
    const secondRun = (await handle.describe()).runId;
    // The new run's first message is checked against the carried order (PAID: unchanged).
    expect(await handle.executeUpdate(changeStatusUpdate, { args: ['PAID'] })).toMatchObject({ status: 'PAID' });
    expect(await handle.query(getOrderQuery)).toMatchObject({ status: 'PAID', stripeChargeId: 'pi_long_lived' });
    // A retried create is answered by the new run, without placing anything again.
    expect(await handle.executeUpdate(placeOrderUpdate)).toMatchObject({ paymentSession, order: { status: 'PAID' } });
    // The payment ids came along: the same payment again is no second payment.
    await handle.signal(paymentSucceededSignal, payment);
    await handle.executeUpdate(changeStatusUpdate, { args: ['DELIVERED'] });
    expect(await handle.result()).toBe('DELIVERED');
    expect(peers.refundsOf(orderId)).toEqual([]);
    const history = await stub.client.workflow.getHandle(handle.workflowId, firstRun).fetchHistory();
    expect(history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
    expect(secondRun).not.toBe(firstRun);
  });
});

describe("only the order's own payment pays", () => {
  const paymentsOf = (orderId: string) => peers.paymentsOf(orderId);

  /** Sends `signals` then a genuine payment, and answers the order once that one has been applied. */
  async function thenGenuine(signals: unknown[], paymentId?: string) {
    const handle = await start();
    const orderId = orderIdOf(handle.workflowId);
    // Payment ids are unique across the stub's orders, as Stripe's are.
    const stripePaymentId = paymentId ?? `pi_genuine_${orderId.slice(0, 8)}`;
    await handle.executeUpdate(placeOrderUpdate);
    for (const signal of signals) {
      await handle.signal(paymentSucceededSignal, (typeof signal === 'function' ? signal(orderId) : signal) as never);
    }
    await handle.signal(paymentSucceededSignal, pay(orderId, stripePaymentId));
    const order = await handle.executeUpdate(changeStatusUpdate, { args: ['PAID'] });
    return { handle, orderId, order, accepted: peers.calls(orderId, 'acceptPayment'), genuine: stripePaymentId };
  }

  it('drops an unsigned payment signal (the Temporal CLI, the Web UI) without asking anyone; the genuine one pays', async () => {
    const unsigned = (orderId: string) => ({ stripePaymentId: 'pi_forged', orderId, receiptUrl: null });
    const { orderId, order, accepted, genuine } = await thenGenuine([unsigned]);
    expect(order).toMatchObject({ status: 'PAID', stripeChargeId: genuine });
    expect(accepted).toBe(1);
    expect(paymentsOf(orderId)).toEqual([[genuine, 'APPLIED']]);
  });

  it('drops malformed signals ({} and others) instead of retrying them for ever', async () => {
    const { orderId, order, accepted, genuine } = await thenGenuine([
      {},
      null,
      'pi_text',
      (id: string) => ({ orderId: id, receiptUrl: null, signature: 'v1.x' }),
      (id: string) => ({ ...pay(id, 'pi_half'), amount: 1000 }),
    ]);
    expect(order).toMatchObject({ status: 'PAID', stripeChargeId: genuine });
    expect(accepted).toBe(1);
    expect(paymentsOf(orderId)).toEqual([[genuine, 'APPLIED']]);
  });

  it('refuses a signature made with another key, and still takes the genuine payment under the same id', async () => {
    const forged = (orderId: string) =>
      signPayment({ stripePaymentId: 'pi_same_id', orderId, receiptUrl: null }, 'not-the-gateway-key-but-long-enough');
    const { orderId, order, accepted } = await thenGenuine([forged], 'pi_same_id');
    expect(order).toMatchObject({ status: 'PAID', stripeChargeId: 'pi_same_id' });
    expect(accepted).toBe(2);
    expect(paymentsOf(orderId)).toEqual([['pi_same_id', 'APPLIED']]);
  });

  it('ignores a signal that names another order, and leaves that order as it was', async () => {
    const other = await start();
    const otherId = orderIdOf(other.workflowId);
    await other.executeUpdate(placeOrderUpdate);
    const { order, genuine } = await thenGenuine([pay(otherId, 'pi_for_the_other')]);
    expect(order).toMatchObject({ status: 'PAID', stripeChargeId: genuine });
    expect(await other.query(getOrderQuery)).toMatchObject({ status: 'PENDING', paid: false });
    expect(paymentsOf(otherId)).toEqual([]);
  });

  it.each([
    ['a short amount', { amount: 1, currency: 'usd' }, 'paid 0.01 USD'],
    ['another currency', { amount: 1000, currency: 'eur' }, 'paid 10 EUR'],
  ])('records %s as a mismatch, refunds it and leaves the order unpaid', async (_name, money, detail) => {
    const handle = await start({ latePaymentGraceMs: 2_000 });
    const orderId = orderIdOf(handle.workflowId);
    await handle.executeUpdate(placeOrderUpdate);
    const [wrong, right] = [`pi_wrong_${orderId.slice(0, 8)}`, `pi_right_${orderId.slice(0, 8)}`];
    const refunded = peers.nextCall(orderId, 'requestRefund');
    await handle.signal(paymentSucceededSignal, pay(orderId, wrong, null, money));
    await refunded;
    expect(await handle.query(getOrderQuery)).toMatchObject({ status: 'PENDING', paid: false });
    expect(paymentsOf(orderId)).toEqual([[wrong, 'MISMATCH']]);
    const [refund] = peers.refundsOf(orderId);
    expect(refund?.stripePaymentId).toBe(wrong);
    expect(refund?.reason).toContain(detail);
    // The order's own amount still pays it.
    await handle.signal(paymentSucceededSignal, pay(orderId, right, null, { amount: 1000, currency: 'usd' }));
    expect(await handle.executeUpdate(changeStatusUpdate, { args: ['DELIVERED'] })).toMatchObject({
      status: 'DELIVERED',
      stripeChargeId: right,
    });
  });

  it('never pays a second order with a payment id already recorded for another', async () => {
    const first = await start();
    const firstId = orderIdOf(first.workflowId);
    await first.executeUpdate(placeOrderUpdate);
    await first.signal(paymentSucceededSignal, pay(firstId, 'pi_reused'));
    expect(await first.executeUpdate(changeStatusUpdate, { args: ['PAID'] })).toMatchObject({ status: 'PAID' });
    const { orderId, order, accepted, genuine } = await thenGenuine([(id: string) => pay(id, 'pi_reused')]);
    expect(accepted).toBe(2);
    expect(order).toMatchObject({ status: 'PAID', stripeChargeId: genuine });
    expect(paymentsOf(orderId)).toEqual([[genuine, 'APPLIED']]);
    expect(peers.refunds.filter((refund) => refund.stripePaymentId === 'pi_reused')).toEqual([]);
  });
});
