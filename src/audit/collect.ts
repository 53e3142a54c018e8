import type { Client } from '@temporalio/client';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager } from '@nats-io/jetstream';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { PAYMENT_CONSUMER } from '../gateway/payment-subscriber';
import { parseEvent } from '../nats/validate-payload';
import { PAYMENT_STREAM } from '../nats/payment-stream';
import { PAYMENT_SUCCEEDED_SUBJECT } from '../nats/subjects';
import { ORDER_WORKFLOW_TYPE, OrderStatusAttribute } from '../orders/workflow-api';
import { ORDER_STATUSES } from '../orders/types';
import type { AuditSnapshot } from './snapshot';
import { createDeadLettersRepository, REFUSED_PAYMENT_SUBJECT } from '../db/dead-letters-repository';

export interface AuditSources {
  pool: DatabasePool;
  temporal: Client;
  nats: NatsConnection;
}

const orderRow = z.object({
  id: z.string(),
  status: z.enum(ORDER_STATUSES),
  paid: z.boolean(),
  stripe_charge_id: z.string().nullable(),
  created_at: z.number(),
});
const paymentRow = z.object({
  stripe_payment_id: z.string(),
  order_id: z.string(),
  outcome: z.enum(['APPLIED', 'REFUND_REQUESTED', 'MISMATCH']),
  received_at: z.number(),
});
const refundRow = z.object({
  stripe_payment_id: z.string(),
  order_id: z.string(),
  status: z.enum(['requested', 'done', 'failed']),
  failure: z.string().nullable(),
  requested_at: z.number(),
});
/** A payment the worker refused (kept as a dead letter by acceptPayment), as `orderId/stripePaymentId`. */
const refusedPayment = z.object({ orderId: z.string(), stripePaymentId: z.string() });
const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};
// Order ids are normalised to lower case as the gateway does, so an upper-case event matches its order.
const eventPayment = z.object({ orderId: z.string().transform((id) => id.toLowerCase()), stripePaymentId: z.string() });

async function readDatabase(pool: DatabasePool) {
  const [orders, payments, refunds, deadLetters] = await Promise.all([
    pool.any(sql.type(orderRow)`SELECT id, status, paid, stripe_charge_id, created_at FROM orders`),
    pool.any(sql.type(paymentRow)`SELECT stripe_payment_id, order_id, outcome, received_at FROM payments`),
    pool.any(sql.type(refundRow)`
      SELECT stripe_payment_id, order_id, status, failure, requested_at FROM refunds`),
    createDeadLettersRepository(pool).list(Number.MAX_SAFE_INTEGER),
  ]);
  deadLetters.sort((a, b) => a.id - b.id);
  return {
    orders: orders.map((row) => ({
      id: row.id,
      status: row.status,
      paid: row.paid,
      stripeChargeId: row.stripe_charge_id,
      createdAt: row.created_at,
    })),
    payments: payments.map((row) => ({
      stripePaymentId: row.stripe_payment_id,
      orderId: row.order_id,
      outcome: row.outcome,
      receivedAt: row.received_at,
    })),
    refunds: refunds.map((row) => ({
      stripePaymentId: row.stripe_payment_id,
      orderId: row.order_id,
      status: row.status,
      failure: row.failure,
      requestedAt: row.requested_at,
    })),
    deadLetterSeqs: deadLetters.flatMap((row) =>
      row.streamSeq === null || row.subject === REFUSED_PAYMENT_SUBJECT ? [] : [row.streamSeq],
    ),
    refusedPayments: deadLetters.flatMap((row) => {
      if (row.subject !== REFUSED_PAYMENT_SUBJECT) return [];
      const payment = refusedPayment.safeParse(safeJson(row.body));
      return payment.success ? [`${payment.data.orderId}/${payment.data.stripePaymentId}`] : [];
    }),
    unresolvedDeadLetters: deadLetters
      .filter((row) => row.resolvedAt === null)
      // A refused payment is no stream message: no sequence to show.
      .map((row) => ({
        id: row.id,
        streamSeq: row.subject === REFUSED_PAYMENT_SUBJECT ? null : row.streamSeq,
        reason: row.reason,
      })),
  };
}

async function readWorkflows(temporal: Client): Promise<AuditSnapshot['workflows']> {
  const latest = new Map<string, AuditSnapshot['workflows'][number]>();
  for await (const execution of temporal.workflow.list({ query: `WorkflowType="${ORDER_WORKFLOW_TYPE}"` })) {
    const startedAt = execution.startTime.getTime();
    const known = latest.get(execution.workflowId);
    if (known && known.startedAt >= startedAt) continue;
    latest.set(execution.workflowId, {
      workflowId: execution.workflowId,
      running: execution.status.name === 'RUNNING',
      orderStatus: execution.typedSearchAttributes.get(OrderStatusAttribute),
      startedAt,
    });
  }
  return [...latest.values()];
}

async function readPaymentStream(nats: NatsConnection) {
  const jsm = await jetstreamManager(nats);
  const { state } = await jsm.streams.info(PAYMENT_STREAM);
  const consumer = await jsm.consumers.info(PAYMENT_STREAM, PAYMENT_CONSUMER).catch(() => null);
  const paymentEvents: AuditSnapshot['paymentEvents'] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq += 1) {
    const stored = await jsm.streams.getMessage(PAYMENT_STREAM, { seq }).catch(() => null);
    if (stored === null || stored.subject !== PAYMENT_SUCCEEDED_SUBJECT) continue;
    const parsed = parseEvent(eventPayment, stored.data);
    const payment = parsed.kind === 'ok' ? parsed.value : undefined;
    paymentEvents.push({ seq, publishedAt: stored.time.getTime(), payment });
  }
  const consumers: AuditSnapshot['consumers'] = [];
  for await (const info of jsm.consumers.list(PAYMENT_STREAM)) {
    const handledSeq =
      info.num_ack_pending === 0
        ? Math.max(info.ack_floor.stream_seq, info.delivered.stream_seq)
        : info.ack_floor.stream_seq;
    consumers.push({ durable: info.name, handledSeq });
  }
  return {
    paymentEvents,
    consumerAckFloor: consumer?.ack_floor.stream_seq ?? 0,
    streamFirstSeq: state.first_seq,
    consumers,
  };
}

/**
 * Reads Temporal first and PostgreSQL last: a workflow shows an order status only after its row
 * is written, so a row can be newer than the workflow list but never older.
 */
export async function takeSnapshot({ pool, temporal, nats }: AuditSources): Promise<AuditSnapshot> {
  const takenAt = Date.now();
  const workflows = await readWorkflows(temporal);
  const stream = await readPaymentStream(nats);
  const database = await readDatabase(pool);
  return { takenAt, ...database, workflows, ...stream };
}
