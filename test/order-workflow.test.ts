import { once } from 'node:events';
import { changeStatusUpdate, getOrderQuery, paymentSucceededSignal } from '../src/orders/messages';
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
