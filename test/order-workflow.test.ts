import { once } from 'node:events';
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
import { signPayment } from '../src/security/payment-signature';
import { signedPayment, startStubWorker, stubPeers, type StubPeers, type StubWorker } from './support/stub-worker';

/** OrderWorkflow's own decisions, on the real dev server with in-memory activities. */

let peers: StubPeers;
let stub: StubWorker;

beforeAll(async () => {
  peers = stubPeers();
  stub = await startStubWorker(peers);
});

afterAll(async () => {
  await stub?.stop();
});

const orderIdOf = (workflowId: string): string => workflowId.replace(/^order-/, '');
const pay = signedPayment;

/**
 * Makes every call of `activity` fail with `error` until the returned function is called: each
 * stub call is announced on `peers.calls`, and a listener that throws fails the call.
 */
function failCalls(activity: string, error: Error): () => void {
  const fail = (): never => {
    throw error;
  };
  peers.calls.on(activity, fail);
  return () => peers.calls.off(activity, fail);
}

/** Counts the calls of `activity` until the returned function is called, which answers the count. */
function countCalls(activity: string): () => number {
  let count = 0;
  const counted = (): void => {
    count += 1;
  };
  peers.calls.on(activity, counted);
  return () => {
    peers.calls.off(activity, counted);
    return count;
  };
}

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
    const attempts = countCalls('placeOrder');
    const stopFailing = failCalls('placeOrder', failure);
    const checkouts = countCalls('openCheckout');
    const statusWrites = countCalls('setOrderStatus');
    try {
      const handle = await stub.start({ items: [{ productId: 404, quantity: 1 }] });
      // Not retried (a 4xx of the products service): the workflow ends without a second attempt.
      expect(await handle.result()).toBe('REJECTED');
      expect(await handle.query(getOrderQuery)).toBeNull();
      // Found in the Web UI and the CLI with OrderStatus = "REJECTED".
      expect((await handle.describe()).typedSearchAttributes.get(OrderStatusAttribute)).toBe('REJECTED');
    } finally {
      stopFailing();
    }
    expect(attempts()).toBe(1);
    expect(checkouts()).toBe(0);
    expect(statusWrites()).toBe(0);
  });

  it('cancels a stored order whose checkout cannot be opened, and tells the caller', async () => {
    const stopFailing = failCalls('openCheckout', new Error('payments service down'));
    try {
      const handle = await stub.start({ placementTimeoutMs: 1_000 });
      const orderId = orderIdOf(handle.workflowId);
      const failure = await updateFailure(handle.executeUpdate(placeOrderUpdate));
      expect({ type: failure.type, message: failure.message }).toEqual({
        type: 'PaymentSessionFailed',
        message: `The payment session for order ${orderId} could not be created; the order was cancelled`,
      });
      expect(peers.orders.get(orderId)?.status).toBe('CANCELLED');
      expect(await handle.query(getOrderQuery)).toMatchObject({ id: orderId, status: 'CANCELLED' });
      expect(await handle.result()).toBe('CANCELLED');
    } finally {
      stopFailing();
    }
  });
});

describe('a keyless create whose placement fails before its deadline', () => {
  it('cancels what an abandoned attempt stored, once the deadline has passed, and answers that nothing was kept', async () => {
    // The stub stores the order, then the attempt fails: as an attempt abandoned while it commits.
    const stopFailing = failCalls(
      'placeOrder',
      ApplicationFailure.create({ type: 'ServiceUnavailable', message: 'products service unavailable' }),
    );
    try {
      const deadline = Date.now() + 1_500;
      const handle = await stub.start({
        placementTimeoutMs: 600,
        placementDeadline: { at: deadline, callerTimeoutMs: 1_500 },
      });
      const orderId = orderIdOf(handle.workflowId);
      const failure = await updateFailure(handle.executeUpdate(placeOrderUpdate));
      expect(failure.type).toBe('PlacementTimedOut');
      // Answered only once the deadline had passed, with the stored order cancelled by then.
      expect(Date.now()).toBeGreaterThanOrEqual(deadline);
      expect(peers.orders.get(orderId)).toMatchObject({ status: 'CANCELLED' });
      expect(await handle.query(getOrderQuery)).toMatchObject({ status: 'CANCELLED' });
      await handle.terminate('test done');
    } finally {
      stopFailing();
    }
  });
});

describe('payments', () => {
  it('applies the same payment id once, however often it is reported', async () => {
    const handle = await stub.start();
    const orderId = orderIdOf(handle.workflowId);
    await handle.executeUpdate(placeOrderUpdate);
    const records = countCalls('acceptPayment');
    await handle.signal(paymentSucceededSignal, pay(orderId, 'pi_twice'));
    await handle.signal(paymentSucceededSignal, pay(orderId, 'pi_twice'));
    // Delivered after both payments: the inbox applied them first.
    expect(await handle.executeUpdate(changeStatusUpdate, { args: ['DELIVERED'] })).toMatchObject({
      status: 'DELIVERED',
      stripeChargeId: 'pi_twice',
    });
    expect(records()).toBe(1);
    expect(peers.refunds.filter((refund) => refund.orderId === orderId)).toEqual([]);
    expect(await handle.result()).toBe('DELIVERED');
  });

  it('records a payment that arrives after cancellation and requests its refund', async () => {
    const handle = await stub.start({ latePaymentGraceMs: 2_000 });
    const orderId = orderIdOf(handle.workflowId);
    await handle.executeUpdate(placeOrderUpdate);
    expect(await handle.executeUpdate(changeStatusUpdate, { args: ['CANCELLED'] })).toMatchObject({
      status: 'CANCELLED',
    });
    const refunded = once(peers.calls, 'requestRefund');
    await handle.signal(paymentSucceededSignal, pay(orderId, 'pi_too_late'));
    await refunded;
    expect(peers.refunds.filter((refund) => refund.orderId === orderId)).toEqual([
      { orderId, stripePaymentId: 'pi_too_late', reason: 'payment received for a CANCELLED order' },
    ]);
    expect(
      peers.payments.filter((recorded) => recorded.payment.orderId === orderId).map((recorded) => recorded.outcome),
    ).toEqual(['REFUND_REQUESTED']);
    expect(await handle.query(getOrderQuery)).toMatchObject({ status: 'CANCELLED', paid: false });
    expect(await handle.result()).toBe('CANCELLED');
  });
});

describe('the inbox keeps arrival order', () => {
  it('a payment then an immediate DELIVERED: delivered after it is paid, never refused', async () => {
    const handle = await stub.start();
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
    const handle = await stub.start({ latePaymentGraceMs: 2_000 });
    const orderId = orderIdOf(handle.workflowId);
    await handle.executeUpdate(placeOrderUpdate);
    const refunded = once(peers.calls, 'requestRefund');
    const cancel = await handle.startUpdate(changeStatusUpdate, {
      args: ['CANCELLED'],
      waitForStage: WorkflowUpdateStage.ACCEPTED,
    });
    await handle.signal(paymentSucceededSignal, pay(orderId, 'pi_after_cancel'));
    expect(await cancel.result()).toMatchObject({ status: 'CANCELLED', paid: false });
    await refunded;
    expect(peers.refunds.filter((refund) => refund.orderId === orderId).map((refund) => refund.reason)).toEqual([
      'payment received for a CANCELLED order',
    ]);
  });

  it('a payment before a cancel: paid, then cancelled with its refund requested', async () => {
    const handle = await stub.start();
    const orderId = orderIdOf(handle.workflowId);
    await handle.executeUpdate(placeOrderUpdate);
    const refunded = once(peers.calls, 'requestRefund');
    await handle.signal(paymentSucceededSignal, pay(orderId, 'pi_before_cancel'));
    expect(await handle.executeUpdate(changeStatusUpdate, { args: ['CANCELLED'] })).toMatchObject({
      status: 'CANCELLED',
      stripeChargeId: 'pi_before_cancel',
    });
    await refunded;
    expect(peers.refunds.filter((refund) => refund.orderId === orderId)).toEqual([
      { orderId, stripePaymentId: 'pi_before_cancel', reason: 'order cancelled after payment' },
    ]);
  });
});

describe('the payment window', () => {
  it('ignores a window signal before the window has ended on its own clock', async () => {
    const expiries = countCalls('expirePaymentSession');
    const handle = await stub.start({ paymentWindowMs: 60_000 });
    await handle.executeUpdate(placeOrderUpdate);
    await handle.signal(paymentWindowEndedSignal);
    // A query waits for the workflow task that handles the signal before it.
    expect(await handle.query(getOrderQuery)).toMatchObject({ status: 'PENDING' });
    expect(expiries()).toBe(0);
    await handle.executeUpdate(changeStatusUpdate, { args: ['CANCELLED'] });
  });

  it('expires the open checkout once and cancels the unpaid order when the ended window is signalled', async () => {
    peers.sessionStatus = () => 'open';
    const expiries = countCalls('expirePaymentSession');
    const handle = await stub.start({ paymentWindowMs: 1 });
    const orderId = orderIdOf(handle.workflowId);
    await handle.executeUpdate(placeOrderUpdate);
    await handle.signal(paymentWindowEndedSignal);
    await handle.signal(paymentWindowEndedSignal);
    expect(await handle.result()).toBe('CANCELLED');
    expect(expiries()).toBe(1);
    expect(peers.orders.get(orderId)).toMatchObject({ status: 'CANCELLED', paid: false });
    expect(peers.refunds.filter((refund) => refund.orderId === orderId)).toEqual([]);
  });

  it('waits for the payment of a checkout found complete however late it comes, and is not signalled again', async () => {
    peers.sessionStatus = () => 'complete';
    const expiries = countCalls('expirePaymentSession');
    const handle = await stub.start({ paymentWindowMs: 1 });
    const orderId = orderIdOf(handle.workflowId);
    await handle.executeUpdate(placeOrderUpdate);
    const keptOpen = once(peers.calls, 'keepPaymentWindowOpen');
    await handle.signal(paymentWindowEndedSignal);
    expect(await keptOpen).toEqual([orderId]);
    // Once the checkout is found complete the window no longer ends: a second signal changes nothing.
    await handle.signal(paymentWindowEndedSignal);
    expect(await handle.query(getOrderQuery)).toMatchObject({ status: 'PENDING' });
    expect(expiries()).toBe(1);
    await handle.signal(paymentSucceededSignal, pay(orderId, 'pi_very_late'));
    expect(await handle.executeUpdate(changeStatusUpdate, { args: ['DELIVERED'] })).toMatchObject({
      status: 'DELIVERED',
      stripeChargeId: 'pi_very_late',
    });
    expect(peers.refunds.filter((refund) => refund.orderId === orderId)).toEqual([]);
  });
});

describe('what a paid order costs Temporal', () => {
  it('starts no timer, records no patch marker and upserts search attributes only when the status changes', async () => {
    const handle = await stub.start();
    const orderId = orderIdOf(handle.workflowId);
    await handle.executeUpdate(placeOrderUpdate);
    await handle.signal(paymentSucceededSignal, pay(orderId, 'pi_cost'));
    expect(await handle.query(getOrderQuery)).toMatchObject({ status: 'PAID' });
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
    const handle = await stub.start();
    const orderId = orderIdOf(handle.workflowId);
    await handle.executeUpdate(placeOrderUpdate);
    await handle.signal(paymentSucceededSignal, pay(orderId, 'pi_paid_1'));
    await handle.signal(paymentSucceededSignal, pay(orderId, 'ch_same_1', 'https://pay.stripe.com/receipts/1'));
    const refunded = once(peers.calls, 'requestRefund');
    await handle.signal(paymentSucceededSignal, pay(orderId, 'ch_other_1'));
    await refunded;
    expect(
      peers.refunds.filter((refund) => refund.orderId === orderId).map((refund) => refund.stripePaymentId),
    ).toEqual(['ch_other_1']);
    // The charge event brought the receipt the first one lacked.
    expect(await handle.query(getOrderQuery)).toMatchObject({
      status: 'PAID',
      stripeChargeId: 'pi_paid_1',
      receiptUrl: 'https://pay.stripe.com/receipts/1',
    });
    expect(
      peers.payments
        .filter((recorded) => recorded.payment.orderId === orderId)
        .map((recorded) => recorded.payment.stripePaymentId),
    ).toEqual(['pi_paid_1', 'ch_other_1']);
    await handle.executeUpdate(changeStatusUpdate, { args: ['DELIVERED'] });
    expect(await handle.result()).toBe('DELIVERED');
  });

  it('the other way round: paid under the charge id, then reported under its payment intent', async () => {
    peers.paymentIntents.set('ch_paid_2', 'pi_paid_2');
    const handle = await stub.start();
    const orderId = orderIdOf(handle.workflowId);
    await handle.executeUpdate(placeOrderUpdate);
    await handle.signal(paymentSucceededSignal, pay(orderId, 'ch_paid_2'));
    const identified = once(peers.calls, 'identifyPayments');
    await handle.signal(paymentSucceededSignal, pay(orderId, 'pi_paid_2'));
    await identified;
    await handle.executeUpdate(changeStatusUpdate, { args: ['DELIVERED'] });
    expect(await handle.result()).toBe('DELIVERED');
    expect(peers.refunds.filter((refund) => refund.orderId === orderId)).toEqual([]);
  });
});

describe('a long-lived order', () => {
  it('continues as new after a bounded number of messages, carrying the order, its payments and its session', async () => {
    const handle = await stub.start({ messagesPerRun: 2 });
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
    expect(peers.refunds.filter((refund) => refund.orderId === orderId)).toEqual([]);
    const history = await stub.client.workflow.getHandle(handle.workflowId, firstRun).fetchHistory();
    expect(history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
    expect(secondRun).not.toBe(firstRun);
  });
});

describe("only the order's own payment pays", () => {
  const paymentsOf = (orderId: string) =>
    peers.payments
      .filter((recorded) => recorded.payment.orderId === orderId)
      .map((recorded) => [recorded.payment.stripePaymentId, recorded.outcome]);

  /** Sends `signals` then a genuine payment, and answers the order once that one has been applied. */
  async function thenGenuine(signals: unknown[], paymentId?: string) {
    const handle = await stub.start();
    const orderId = orderIdOf(handle.workflowId);
    // Payment ids are unique across the stub's orders, as Stripe's are.
    const stripePaymentId = paymentId ?? `pi_genuine_${orderId.slice(0, 8)}`;
    await handle.executeUpdate(placeOrderUpdate);
    const accepted = countCalls('acceptPayment');
    for (const signal of signals) {
      await handle.signal(paymentSucceededSignal, (typeof signal === 'function' ? signal(orderId) : signal) as never);
    }
    await handle.signal(paymentSucceededSignal, pay(orderId, stripePaymentId));
    const order = await handle.executeUpdate(changeStatusUpdate, { args: ['PAID'] });
    return { handle, orderId, order, accepted: accepted(), genuine: stripePaymentId };
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
    const other = await stub.start();
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
    const handle = await stub.start({ latePaymentGraceMs: 2_000 });
    const orderId = orderIdOf(handle.workflowId);
    await handle.executeUpdate(placeOrderUpdate);
    const [wrong, right] = [`pi_wrong_${orderId.slice(0, 8)}`, `pi_right_${orderId.slice(0, 8)}`];
    const refunded = once(peers.calls, 'requestRefund');
    await handle.signal(paymentSucceededSignal, pay(orderId, wrong, null, money));
    await refunded;
    expect(await handle.query(getOrderQuery)).toMatchObject({ status: 'PENDING', paid: false });
    expect(paymentsOf(orderId)).toEqual([[wrong, 'MISMATCH']]);
    const [refund] = peers.refunds.filter((entry) => entry.orderId === orderId);
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
    const first = await stub.start();
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
