import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The process's metrics, in one registry served at /metrics (observability/server.ts). Each
 * process registers all of them; the ones it never touches stay at zero or absent.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

/** Every NATS request a handler answered, by subject and HTTP-like status (200 for a response). */
export const natsRequests = new Counter({
  name: 'orders_nats_requests_total',
  help: 'NATS requests answered, by subject and status (200, or the error status sent back)',
  labelNames: ['subject', 'status'] as const,
  registers: [registry],
});

export const natsRequestDuration = new Histogram({
  name: 'orders_nats_request_duration_seconds',
  help: 'Time from receiving a NATS request to sending its reply, by subject',
  labelNames: ['subject'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15],
  registers: [registry],
});

/** Connection trouble (disconnects, errors) and failed requests to peers (timeouts, no responders). */
export const natsErrors = new Counter({
  name: 'orders_nats_errors_total',
  help: 'NATS errors, by kind: disconnect, error, timeout, no_responders, request_failed, subscription',
  labelNames: ['kind'] as const,
  registers: [registry],
});

/** Requests left unhandled because their reply subject is not a client inbox (nats/reply-subjects.ts). */
export const natsRefusedReplies = new Counter({
  name: 'orders_nats_refused_reply_subjects_total',
  help: 'NATS requests not handled because their reply subject is outside NATS_INBOX_PREFIXES or reserved ($JS., $SYS., $KV., $O.), by subject',
  labelNames: ['subject'] as const,
  registers: [registry],
});

/** Failed statements; `unavailable` when the database could not answer, `query` otherwise. */
export const databaseErrors = new Counter({
  name: 'orders_database_errors_total',
  help: 'Database statements that failed, by kind: unavailable or query',
  labelNames: ['kind'] as const,
  registers: [registry],
});

/** Counted once per real change: a repeated write that changes nothing is not counted. */
export const orderStatusChanges = new Counter({
  name: 'orders_order_status_changes_total',
  help: 'Orders that entered a status (PENDING when created), by status',
  labelNames: ['status'] as const,
  registers: [registry],
});

export const paymentEvents = new Counter({
  name: 'orders_payment_events_total',
  help: 'payment.succeeded events by outcome: applied (order PAID), refund_requested, dead_lettered',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

/** Called at every scrape of consumerPending; see watchConsumerLag (observability/consumer-lag.ts). */
export const consumerLagReaders = new Set<() => Promise<void>>();

export const consumerPending = new Gauge({
  name: 'orders_jetstream_consumer_pending_messages',
  help: 'Messages of the stream not yet delivered to the durable consumer (num_pending), by consumer',
  labelNames: ['stream', 'consumer'] as const,
  registers: [registry],
  async collect() {
    await Promise.all([...consumerLagReaders].map((read) => read()));
  },
});
