import { once } from 'node:events';
import { WorkflowContinuedAsNewError } from '@temporalio/client';
import { changeStatusUpdate, getOrderQuery, paymentSucceededSignal, placeOrderUpdate } from '../src/orders/messages';
import { startStubWorker, stubPeers, type StubPeers, type StubWorker } from './support/stub-worker';

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

describe('the payment window ends while the customer pays', () => {
  it('waits for the payment of a checkout already complete, instead of cancelling and refunding it', async () => {
    peers.sessionStatus = () => 'complete';
    const asked = once(peers.calls, 'expirePaymentSession');
    const handle = await stub.start({ paymentWindowMs: 300, checkoutCompletionGraceMs: 60_000 });
    await asked;
    const orderId = orderIdOf(handle.workflowId);
    const recorded = once(peers.calls, 'recordPayment');
    await handle.signal(paymentSucceededSignal, { stripePaymentId: 'pi_last_moment', orderId, receiptUrl: null });
    await recorded;
    expect(await handle.query(getOrderQuery)).toMatchObject({ status: 'PAID', stripeChargeId: 'pi_last_moment' });
    expect(peers.refunds.filter((refund) => refund.orderId === orderId)).toEqual([]);
    await handle.executeUpdate(changeStatusUpdate, { args: ['DELIVERED'] });
    expect(await handle.result()).toBe('DELIVERED');
  });

  it('cancels when the payment of a complete checkout does not come within the grace', async () => {
    peers.sessionStatus = () => 'complete';
    let expiries = 0;
    const count = (): void => {
      expiries += 1;
    };
    peers.calls.on('expirePaymentSession', count);
    const handle = await stub.start({ paymentWindowMs: 300, checkoutCompletionGraceMs: 300 });
    expect(await handle.result()).toBe('CANCELLED');
    peers.calls.off('expirePaymentSession', count);
    expect(expiries).toBe(1);
    expect(peers.orders.get(orderIdOf(handle.workflowId))?.status).toBe('CANCELLED');
  });

  it('cancels at once when the checkout was still open (and is now expired)', async () => {
    peers.sessionStatus = () => 'open';
    const handle = await stub.start({ paymentWindowMs: 300, checkoutCompletionGraceMs: 60_000 });
    expect(await handle.result()).toBe('CANCELLED');
  });
});

describe('one payment under two ids', () => {
  const pay = (orderId: string, stripePaymentId: string, receiptUrl: string | null = null) => ({ stripePaymentId, orderId, receiptUrl });

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
    expect(peers.refunds.filter((refund) => refund.orderId === orderId).map((refund) => refund.stripePaymentId)).toEqual(['ch_other_1']);
    // The charge event brought the receipt the first one lacked.
    expect(await handle.query(getOrderQuery)).toMatchObject({
      status: 'PAID',
      stripeChargeId: 'pi_paid_1',
      receiptUrl: 'https://pay.stripe.com/receipts/1',
    });
    expect(peers.payments.filter((recorded) => recorded.payment.orderId === orderId).map((recorded) => recorded.payment.stripePaymentId)).toEqual([
      'pi_paid_1',
      'ch_other_1',
    ]);
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
    const payment = { stripePaymentId: 'pi_long_lived', orderId, receiptUrl: null };
    await handle.signal(paymentSucceededSignal, payment);
    await handle.signal(paymentSucceededSignal, payment);
    // Two messages handled: the first run ends by continuing as new, and the next holds the order.
    await expect(stub.client.workflow.result(handle.workflowId, firstRun, { followRuns: false })).rejects.toBeInstanceOf(
      WorkflowContinuedAsNewError,
    );
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
