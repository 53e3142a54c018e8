import { isFinal } from '../orders/lifecycle';
import { orderWorkflowId, REJECTED_ORDER_STATUS } from '../orders/workflow-api';

import type { AuditReport, AuditSettings, AuditSnapshot } from './snapshot';

/**
 * Compares PostgreSQL, Temporal and the payment stream. Pure, so each rule is unit-tested:
 * - missing: an open (PENDING or PAID) order without its workflow (a DELIVERED or CANCELLED one
 *   may have lost its closed workflow to Temporal's retention), a finished workflow without its
 *   order row, an acknowledged payment event neither recorded on its order nor kept as a dead letter
 *   (a payment the worker refused is kept as one, naming its order and payment id);
 * - duplicate: more than one payment applied to an order, or a paid flag that disagrees with them;
 * - stuck: a PENDING order past its payment window, a placement running past its timeout;
 * - mismatched: a finished workflow whose last status differs from its order row;
 * - unrefunded: a refund owed and not done: `failed`, `requested` for longer than the grace, or a
 *   payment recorded REFUND_REQUESTED or MISMATCH (older than the grace) without a `done` refund;
 * - unresolved: a dead letter no operator has resolved;
 * - dropped: messages the stream removed (its age or size limits) before a durable consumer
 *   handled them: its first sequence is past the consumer's handled sequence + 1.
 */
export function compareStores(snapshot: AuditSnapshot, settings: AuditSettings): AuditReport {
  const report: AuditReport = {
    counts: {
      orders: snapshot.orders.length,
      workflows: snapshot.workflows.length,
      payments: snapshot.payments.length,
      paymentEvents: snapshot.paymentEvents.length,
      deadLetters: snapshot.deadLetterSeqs.length,
      eventsInFlight: snapshot.paymentEvents.filter((event) => event.seq > snapshot.consumerAckFloor).length,
    },
    missing: [],
    duplicate: [],
    stuck: [],
    mismatched: [],
    unrefunded: [],
    unresolved: [],
    dropped: [],
  };
  const workflows = new Map(snapshot.workflows.map((workflow) => [workflow.workflowId, workflow]));
  const orderIds = new Set(snapshot.orders.map((order) => order.id));
  const recorded = new Set(snapshot.payments.map((payment) => `${payment.orderId}/${payment.stripePaymentId}`));
  const deadLetters = new Set(snapshot.deadLetterSeqs);
  const refused = new Set(snapshot.refusedPayments);

  for (const order of snapshot.orders) {
    const workflow = workflows.get(orderWorkflowId(order.id));
    const settled = snapshot.takenAt - order.createdAt > settings.graceMs;
    if (!workflow && settled && !isFinal(order.status)) report.missing.push(`order ${order.id} has no workflow`);
    else if (workflow && !workflow.running && workflow.orderStatus !== order.status) {
      report.mismatched.push(
        `order ${order.id} is ${order.status} but its workflow ended at ${workflow.orderStatus ?? 'no status'}`,
      );
    }
    if (
      order.status === 'PENDING' &&
      snapshot.takenAt - order.createdAt > settings.paymentWindowMs + settings.graceMs
    ) {
      report.stuck.push(`order ${order.id} is PENDING past its payment window`);
    }
    const applied = snapshot.payments.filter(
      (payment) => payment.orderId === order.id && payment.outcome === 'APPLIED',
    );
    if (applied.length > 1) report.duplicate.push(`order ${order.id} has ${applied.length} payments applied`);
    if (order.paid !== (applied.length === 1) || (order.paid && applied[0]?.stripePaymentId !== order.stripeChargeId)) {
      report.duplicate.push(
        `order ${order.id} paid=${order.paid} disagrees with its ${applied.length} applied payment(s)`,
      );
    }
  }

  for (const workflow of snapshot.workflows) {
    const orderId = workflow.workflowId.replace(/^order-/, '');
    if (orderIds.has(orderId)) continue;
    // REJECTED: placement stored nothing. A running workflow still PENDING (as it starts) may be
    // placing its order: without a row it is stuck only once its placement timeout has passed.
    if (workflow.orderStatus === REJECTED_ORDER_STATUS) continue;
    const placing = workflow.running && (workflow.orderStatus === undefined || workflow.orderStatus === 'PENDING');
    if (!placing) report.missing.push(`workflow ${workflow.workflowId} has no order row`);
    else if (
      workflow.running &&
      snapshot.takenAt - workflow.startedAt > settings.placementTimeoutMs + settings.graceMs
    ) {
      report.stuck.push(`workflow ${workflow.workflowId} is still placing its order`);
    }
  }

  for (const event of snapshot.paymentEvents) {
    if (event.seq > snapshot.consumerAckFloor || deadLetters.has(event.seq)) continue;
    // Signalled moments ago: the workflow may not have recorded it yet.
    if (snapshot.takenAt - event.publishedAt < settings.graceMs) continue;
    const payment = event.payment;
    const key = payment && `${payment.orderId}/${payment.stripePaymentId}`;
    if (key && ((orderIds.has(payment.orderId) && recorded.has(key)) || refused.has(key))) continue;
    report.missing.push(
      `payment event #${event.seq}${payment ? ` (${payment.stripePaymentId} for order ${payment.orderId})` : ''} was acknowledged but is neither recorded nor kept as a dead letter`,
    );
  }
  const refunds = new Map(snapshot.refunds.map((refund) => [refund.stripePaymentId, refund]));
  for (const refund of snapshot.refunds) {
    if (refund.status === 'failed') {
      report.unrefunded.push(
        `refund of ${refund.stripePaymentId} for order ${refund.orderId} failed: ${refund.failure ?? 'no reason recorded'}`,
      );
    } else if (refund.status === 'requested' && snapshot.takenAt - refund.requestedAt > settings.graceMs) {
      report.unrefunded.push(
        `refund of ${refund.stripePaymentId} for order ${refund.orderId} was requested and has no outcome`,
      );
    }
  }
  for (const payment of snapshot.payments) {
    if (payment.outcome === 'APPLIED' || refunds.has(payment.stripePaymentId)) continue;
    if (snapshot.takenAt - payment.receivedAt < settings.graceMs) continue;
    report.unrefunded.push(
      `payment ${payment.stripePaymentId} of order ${payment.orderId} is ${payment.outcome} and no refund is recorded`,
    );
  }

  for (const letter of snapshot.unresolvedDeadLetters) {
    report.unresolved.push(
      `dead letter ${letter.id}${letter.streamSeq === null ? '' : ` (stream #${letter.streamSeq})`} is unresolved: ${letter.reason}`,
    );
  }

  for (const consumer of snapshot.consumers) {
    const lost = snapshot.streamFirstSeq - consumer.handledSeq - 1;
    if (lost <= 0) continue;
    report.dropped.push(
      `stream dropped ${lost} message(s) (#${consumer.handledSeq + 1}-#${snapshot.streamFirstSeq - 1}) before consumer ${consumer.durable} handled them`,
    );
  }
  return report;
}
