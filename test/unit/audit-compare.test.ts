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
    payments: [{ stripePaymentId: 'pi_a', orderId: A, outcome: 'APPLIED' }],
    deadLetterSeqs: [2],
    workflows: [
      { workflowId: `order-${A}`, running: false, orderStatus: 'DELIVERED', startedAt: NOW - 10 * MINUTE },
      { workflowId: `order-${B}`, running: true, orderStatus: 'PENDING', startedAt: NOW - 10 * MINUTE },
    ],
    paymentEvents: [
      { seq: 1, publishedAt: NOW - 5 * MINUTE, payment: { orderId: A, stripePaymentId: 'pi_a' } },
      { seq: 2, publishedAt: NOW - 5 * MINUTE },
    ],
    consumerAckFloor: 2,
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
      { workflowId: 'order-placing', running: true, orderStatus: 'PLACING', startedAt: NOW - 2 * MINUTE },
      { workflowId: 'order-stuck', running: true, orderStatus: 'PLACING', startedAt: NOW - 10 * MINUTE },
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
    snapshot.payments.push({ stripePaymentId: 'pi_d', orderId: D, outcome: 'APPLIED' });
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
    snapshot.payments.push({ stripePaymentId: 'pi_again', orderId: A, outcome: 'APPLIED' });
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
});
