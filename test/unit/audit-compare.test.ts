import { compareStores } from '../../src/audit/compare';
import { discrepancyCount, type AuditSnapshot } from '../../src/audit/snapshot';

const NOW = Date.parse('2026-01-01T12:00:00Z');
const MINUTE = 60_000;
const settings = { placementTimeoutMs: 5 * MINUTE, paymentWindowMs: 60 * MINUTE, graceMs: MINUTE };
const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';

/** A consistent system: A paid and delivered, B pending; one event applied, one dead letter. */
function healthy(): AuditSnapshot {
  return {
    takenAt: NOW,
    orders: [
      { id: A, status: 'DELIVERED', paid: true, stripeChargeId: 'pi_a', createdAt: NOW - 10 * MINUTE },
      { id: B, status: 'PENDING', paid: false, stripeChargeId: null, createdAt: NOW - 10 * MINUTE },
    ],
    payments: [{ stripePaymentId: 'pi_a', orderId: A, outcome: 'APPLIED', receivedAt: NOW - 5 * MINUTE }],
    refunds: [],
    deadLetterSeqs: [2],
    refusedPayments: [],
    unresolvedDeadLetters: [],
    workflows: [
      { workflowId: `order-${A}`, running: false, orderStatus: 'DELIVERED', startedAt: NOW - 10 * MINUTE },
      { workflowId: `order-${B}`, running: true, orderStatus: 'PENDING', startedAt: NOW - 10 * MINUTE },
    ],
    paymentEvents: [
      { seq: 1, publishedAt: NOW - 5 * MINUTE, payment: { orderId: A, stripePaymentId: 'pi_a' } },
      { seq: 2, publishedAt: NOW - 5 * MINUTE },
    ],
    consumerAckFloor: 2,
    streamFirstSeq: 1,
    consumers: [{ durable: 'orders-payment-succeeded', handledSeq: 2 }],
  };
}

describe('audit comparison', () => {
  it('finds nothing wrong in a consistent system', () => {
    const report = compareStores(healthy(), settings);
    expect(discrepancyCount(report)).toBe(0);
    expect(report.counts).toEqual({
      orders: 2,
      workflows: 2,
      payments: 1,
      paymentEvents: 2,
      deadLetters: 1,
      eventsInFlight: 0,
    });
  });

  it('reports an order without a workflow, and a workflow without its order', () => {
    const snapshot = healthy();
    snapshot.workflows = snapshot.workflows.filter((workflow) => workflow.workflowId !== `order-${B}`);
    snapshot.workflows.push({
      workflowId: 'order-c',
      running: false,
      orderStatus: 'PAID',
      startedAt: NOW - MINUTE * 2,
    });
    expect(compareStores(snapshot, settings).missing).toEqual([
      `order ${B} has no workflow`,
      'workflow order-c has no order row',
    ]);
  });

  it('accepts a rejected workflow and one still placing (no order row by design), and flags a placement past its timeout', () => {
    const snapshot = healthy();
    snapshot.workflows.push(
      { workflowId: 'order-rejected', running: false, orderStatus: 'REJECTED', startedAt: NOW - 2 * MINUTE },
      { workflowId: 'order-placing', running: true, orderStatus: 'PENDING', startedAt: NOW - 2 * MINUTE },
      { workflowId: 'order-stuck', running: true, orderStatus: 'PENDING', startedAt: NOW - 10 * MINUTE },
    );
    const report = compareStores(snapshot, settings);
    expect(report.missing).toEqual([]);
    expect(report.stuck).toEqual(['workflow order-stuck is still placing its order']);
  });

  it('accepts a DELIVERED or CANCELLED order whose workflow retention removed, but not a PENDING or PAID one', () => {
    const snapshot = healthy();
    const C = '00000000-0000-4000-8000-00000000000c';
    const D = '00000000-0000-4000-8000-00000000000d';
    snapshot.orders.push({
      id: C,
      status: 'CANCELLED',
      paid: false,
      stripeChargeId: null,
      createdAt: NOW - 40 * 24 * 60 * MINUTE,
    });
    snapshot.orders.push({
      id: D,
      status: 'PAID',
      paid: true,
      stripeChargeId: 'pi_d',
      createdAt: NOW - 40 * 24 * 60 * MINUTE,
    });
    snapshot.payments.push({ stripePaymentId: 'pi_d', orderId: D, outcome: 'APPLIED', receivedAt: NOW - 5 * MINUTE });
    // A (DELIVERED) loses its workflow too.
    snapshot.workflows = snapshot.workflows.filter((workflow) => workflow.workflowId !== `order-${A}`);
    expect(compareStores(snapshot, settings).missing).toEqual([`order ${D} has no workflow`]);
  });

  it('reports an acknowledged payment event that left no trace', () => {
    const snapshot = healthy();
    snapshot.paymentEvents.push({
      seq: 3,
      publishedAt: NOW - 5 * MINUTE,
      payment: { orderId: B, stripePaymentId: 'pi_lost' },
    });
    snapshot.consumerAckFloor = 3;
    expect(compareStores(snapshot, settings).missing).toEqual([
      `payment event #3 (pi_lost for order ${B}) was acknowledged but is neither recorded nor kept as a dead letter`,
    ]);
  });

  it('accepts an acknowledged payment event the worker refused (kept as a dead letter naming it)', () => {
    const snapshot = healthy();
    snapshot.paymentEvents.push({
      seq: 3,
      publishedAt: NOW - 5 * MINUTE,
      payment: { orderId: B, stripePaymentId: 'pi_a' },
    });
    snapshot.consumerAckFloor = 3;
    expect(compareStores(snapshot, settings).missing).toEqual([
      `payment event #3 (pi_a for order ${B}) was acknowledged but is neither recorded nor kept as a dead letter`,
    ]);
    snapshot.refusedPayments.push(`${B}/pi_a`);
    expect(compareStores(snapshot, settings).missing).toEqual([]);
  });

  it('leaves events not yet acknowledged, or just signalled, to be processed', () => {
    const snapshot = healthy();
    snapshot.paymentEvents.push({
      seq: 3,
      publishedAt: NOW - 1_000,
      payment: { orderId: B, stripePaymentId: 'pi_now' },
    });
    snapshot.paymentEvents.push({
      seq: 4,
      publishedAt: NOW - 5 * MINUTE,
      payment: { orderId: B, stripePaymentId: 'pi_next' },
    });
    snapshot.consumerAckFloor = 3;
    const report = compareStores(snapshot, settings);
    expect(discrepancyCount(report)).toBe(0);
    expect(report.counts.eventsInFlight).toBe(1);
  });

  it('reports two payments applied to one order, and a paid flag without its payment', () => {
    const snapshot = healthy();
    snapshot.payments.push({
      stripePaymentId: 'pi_again',
      orderId: A,
      outcome: 'APPLIED',
      receivedAt: NOW - 5 * MINUTE,
    });
    snapshot.orders.push({ id: 'd', status: 'PAID', paid: true, stripeChargeId: 'pi_d', createdAt: NOW - 10 * MINUTE });
    snapshot.workflows.push({
      workflowId: 'order-d',
      running: true,
      orderStatus: 'PAID',
      startedAt: NOW - 10 * MINUTE,
    });
    expect(compareStores(snapshot, settings).duplicate).toEqual([
      `order ${A} has 2 payments applied`,
      `order ${A} paid=true disagrees with its 2 applied payment(s)`,
      'order d paid=true disagrees with its 0 applied payment(s)',
    ]);
  });

  it('reports orders stuck in PENDING and placements that never finish', () => {
    const snapshot = healthy();
    (snapshot.orders[1] as AuditSnapshot['orders'][number]).createdAt = NOW - 2 * 60 * MINUTE;
    snapshot.workflows.push({ workflowId: 'order-e', running: true, startedAt: NOW - 10 * MINUTE });
    snapshot.workflows.push({ workflowId: 'order-f', running: true, startedAt: NOW - MINUTE });
    expect(compareStores(snapshot, settings).stuck).toEqual([
      `order ${B} is PENDING past its payment window`,
      'workflow order-e is still placing its order',
    ]);
  });

  it('reports a finished workflow whose status differs from its row', () => {
    const snapshot = healthy();
    (snapshot.workflows[0] as AuditSnapshot['workflows'][number]).orderStatus = 'PAID';
    expect(compareStores(snapshot, settings).mismatched).toEqual([
      `order ${A} is DELIVERED but its workflow ended at PAID`,
    ]);
  });

  it('reports refunds owed and not done: failed, requested past the grace, or never recorded', () => {
    const snapshot = healthy();
    const owed = (stripePaymentId: string, outcome: 'REFUND_REQUESTED' | 'MISMATCH', receivedAt: number) =>
      snapshot.payments.push({ stripePaymentId, orderId: A, outcome, receivedAt });
    owed('pi_done', 'REFUND_REQUESTED', NOW - 10 * MINUTE);
    owed('pi_failed', 'MISMATCH', NOW - 10 * MINUTE);
    owed('pi_stale', 'REFUND_REQUESTED', NOW - 10 * MINUTE);
    owed('pi_fresh', 'REFUND_REQUESTED', NOW - 10 * MINUTE);
    owed('pi_unrecorded', 'MISMATCH', NOW - 10 * MINUTE);
    owed('pi_just_now', 'REFUND_REQUESTED', NOW - 1_000);
    const refund = (stripePaymentId: string, status: 'requested' | 'done' | 'failed', requestedAt: number) => ({
      stripePaymentId,
      orderId: A,
      status,
      failure: status === 'failed' ? "resource_missing: No such payment_intent: 'pi_failed'" : null,
      requestedAt,
    });
    snapshot.refunds = [
      refund('pi_done', 'done', NOW - 10 * MINUTE),
      refund('pi_failed', 'failed', NOW - 10 * MINUTE),
      refund('pi_stale', 'requested', NOW - 10 * MINUTE),
      refund('pi_fresh', 'requested', NOW - 1_000),
      // An applied payment refunded after its order was cancelled.
      refund('pi_a', 'done', NOW - MINUTE * 2),
    ];
    const report = compareStores(snapshot, settings);
    expect(report.unrefunded).toEqual([
      `refund of pi_failed for order ${A} failed: resource_missing: No such payment_intent: 'pi_failed'`,
      `refund of pi_stale for order ${A} was requested and has no outcome`,
      `payment pi_unrecorded of order ${A} is MISMATCH and no refund is recorded`,
    ]);
    expect(discrepancyCount(report)).toBe(3);
  });

  it('reports every dead letter no operator has resolved', () => {
    const snapshot = healthy();
    snapshot.unresolvedDeadLetters = [
      { id: 7, streamSeq: 2, reason: `no order ${B}` },
      { id: 8, streamSeq: null, reason: 'invalid payment event' },
    ];
    const report = compareStores(snapshot, settings);
    expect(report.unresolved).toEqual([
      `dead letter 7 (stream #2) is unresolved: no order ${B}`,
      'dead letter 8 is unresolved: invalid payment event',
    ]);
    expect(discrepancyCount(report)).toBe(2);
  });

  it('reports messages the stream dropped before a consumer handled them, and how many', () => {
    const snapshot = healthy();
    snapshot.consumers = [
      { durable: 'orders-payment-succeeded', handledSeq: 4 },
      { durable: 'payments-refunds', handledSeq: 9 },
      { durable: 'orders-refund-done', handledSeq: 12 },
    ];
    snapshot.streamFirstSeq = 11;
    // Handled up to 4, the stream now starts at 11: 5 to 10 were never handled. 9 then 10: one.
    expect(compareStores(snapshot, settings).dropped).toEqual([
      'stream dropped 6 message(s) (#5-#10) before consumer orders-payment-succeeded handled them',
      'stream dropped 1 message(s) (#10-#10) before consumer payments-refunds handled them',
    ]);
    snapshot.streamFirstSeq = 5;
    expect(compareStores(snapshot, settings).dropped).toEqual([]);
  });
});
