import type { NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager, RetentionPolicy, StorageType, type StreamConfig } from '@nats-io/jetstream';
import type { PaymentStreamSettings } from '../config';
import { describeChange, type Difference } from './differences';
import {
  PAYMENT_SUCCEEDED_SUBJECT,
  REFUND_FAILED_SUBJECT,
  REFUND_REQUESTED_SUBJECT,
  REFUNDED_SUBJECT,
} from './subjects';

// Still imported from here by src/activities/payments.ts; subjects.ts is their one source.

/**
 * JetStream stream that captures `payment.succeeded` (including plain publishes from NestJS peers)
 * and `payment.refund.requested`.
 */
export const PAYMENT_STREAM = 'PAYMENTS';

const NANOS_PER_MS = 1_000_000;
/** Webhook retries (Stripe event id) and refund requests (payment id) are stored once within it. */
const DUPLICATE_WINDOW_MS = 24 * 60 * 60 * 1000;

/** The stream's settings that this code owns, from the configuration. */
export function paymentStreamConfig(settings: PaymentStreamSettings) {
  return {
    name: PAYMENT_STREAM,
    subjects: [PAYMENT_SUCCEEDED_SUBJECT, REFUND_REQUESTED_SUBJECT, REFUNDED_SUBJECT, REFUND_FAILED_SUBJECT],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: settings.maxAgeMs * NANOS_PER_MS,
    max_bytes: settings.maxBytes,
    num_replicas: settings.replicas,
    // JetStream refuses a window longer than the stream keeps its messages.
    duplicate_window: Math.min(DUPLICATE_WINDOW_MS, settings.maxAgeMs) * NANOS_PER_MS,
    // A payment not yet applied (or a refund not yet made) must not vanish at anyone's request:
    // the server refuses purges and deletes of single messages (limits still age them out).
    deny_purge: true,
    deny_delete: true,
  };
}

/** The variable each configurable field comes from, so a refusal names what to change. */
const VARIABLES: Record<string, string> = {
  max_age: 'PAYMENT_STREAM_MAX_AGE_MS',
  max_bytes: 'PAYMENT_STREAM_MAX_BYTES',
  num_replicas: 'PAYMENT_STREAM_REPLICAS',
  duplicate_window: 'PAYMENT_STREAM_MAX_AGE_MS',
};

/** Fields NATS never changes on an existing stream: the stream must be recreated (or the setting changed). */
const FIXED_FIELDS = new Set(['storage', 'retention']);

/** How an existing stream differs from the wanted one; a subject it lacks is a difference, one more is not. */
export function streamDifferences(
  existing: StreamConfig,
  wanted: ReturnType<typeof paymentStreamConfig>,
): Difference[] {
  const differences: Difference[] = [];
  const missing = wanted.subjects.filter((subject) => !existing.subjects.includes(subject));
  if (missing.length > 0) {
    differences.push({
      field: 'subjects',
      found: existing.subjects,
      wanted: [...existing.subjects, ...missing],
      updatable: true,
    });
  }
  for (const field of [
    'storage',
    'retention',
    'max_age',
    'max_bytes',
    'num_replicas',
    'duplicate_window',
    'deny_purge',
    'deny_delete',
  ] as const) {
    // The server leaves false flags out of a stream's configuration.
    const found = typeof wanted[field] === 'boolean' ? (existing[field] ?? false) : existing[field];
    if (found !== wanted[field]) {
      differences.push({
        field,
        found,
        wanted: wanted[field],
        updatable: !FIXED_FIELDS.has(field),
        variable: VARIABLES[field],
      });
    }
  }
  return differences;
}

export interface EnsureResult {
  action: 'created' | 'updated' | 'unchanged';
  /** One line per field changed, e.g. `max_bytes is 1048576, wanted 1073741824 (PAYMENT_STREAM_MAX_BYTES)`. */
  changes: string[];
}

/**
 * Creates the stream, or brings an existing one to the configured subjects and limits; safe to
 * call from every process. A difference NATS cannot apply in place (storage, retention, replicas
 * on a single server) throws an error naming the field, so the process stops instead of running
 * on a stream that is not what it expects.
 *
 * With `settings.setup` 'check' (PAYMENT_STREAM_SETUP, the default in production) it changes
 * nothing: see checkPaymentStream.
 */
export async function ensurePaymentStream(
  nats: NatsConnection,
  settings: PaymentStreamSettings,
): Promise<EnsureResult> {
  if (settings.setup === 'check') return checkPaymentStream(nats, settings);
  const jsm = await jetstreamManager(nats);
  const wanted = paymentStreamConfig(settings);
  // A server outside a cluster keeps one copy whatever it is told (some versions accept 3 and say so).
  if (wanted.num_replicas > 1 && !nats.info?.cluster) {
    throw new Error(
      `JetStream stream ${PAYMENT_STREAM} cannot have num_replicas ${wanted.num_replicas} (PAYMENT_STREAM_REPLICAS): ` +
        'the NATS server is not part of a cluster; set PAYMENT_STREAM_REPLICAS=1 or connect to a cluster',
    );
  }
  const existing = await jsm.streams.info(PAYMENT_STREAM).catch((error: unknown) => {
    if (isNotFound(error)) return null;
    throw error;
  });
  if (existing === null) {
    try {
      await jsm.streams.add(wanted);
      return { action: 'created', changes: [] };
    } catch (error) {
      // Another process created it between our two calls: check it as an existing one.
      const created = await jsm.streams.info(PAYMENT_STREAM).catch(() => null);
      if (created === null) throw refusal('create', wanted, error);
      return ensurePaymentStream(nats, settings);
    }
  }
  const differences = streamDifferences(existing.config, wanted);
  if (differences.length === 0) return { action: 'unchanged', changes: [] };
  const fixed = differences.filter((difference) => !difference.updatable);
  if (fixed.length > 0) {
    throw new Error(
      `JetStream stream ${PAYMENT_STREAM} differs where NATS cannot update it: ${fixed.map(describeChange).join('; ')}. ` +
        'Recreate the stream (after its messages are consumed) or change the setting.',
    );
  }
  const update = Object.fromEntries(differences.map((difference) => [difference.field, difference.wanted]));
  let updated: StreamConfig;
  try {
    updated = (await jsm.streams.update(PAYMENT_STREAM, update)).config;
  } catch (error) {
    throw new Error(
      `JetStream stream ${PAYMENT_STREAM} could not be updated (${differences.map(describeChange).join('; ')}): ${(error as Error).message}`,
    );
  }
  const ignored = streamDifferences(updated, wanted);
  if (ignored.length > 0) {
    throw new Error(
      `JetStream stream ${PAYMENT_STREAM} was not updated as asked: ${ignored.map(describeChange).join('; ')}`,
    );
  }
  return { action: 'updated', changes: differences.map(describeChange) };
}

/** What to do about a stream or consumer a process in check mode finds wrong. */
export const SETUP_ADVICE = 'run `npm run nats:setup` as a NATS admin (PAYMENT_STREAM_SETUP=check)';

/**
 * Only reads the stream (runtime NATS users may not create or update it) and throws an error
 * naming each field that differs from the configuration, or the stream's absence, so the process
 * refuses to start; `npm run nats:setup` makes it right.
 */
export async function checkPaymentStream(nats: NatsConnection, settings: PaymentStreamSettings): Promise<EnsureResult> {
  const jsm = await jetstreamManager(nats);
  const existing = await jsm.streams.info(PAYMENT_STREAM).catch((error: unknown) => {
    if (isNotFound(error)) return null;
    throw error;
  });
  if (existing === null) throw new Error(`JetStream stream ${PAYMENT_STREAM} does not exist: ${SETUP_ADVICE}`);
  const differences = streamDifferences(existing.config, paymentStreamConfig(settings));
  if (differences.length > 0) {
    throw new Error(
      `JetStream stream ${PAYMENT_STREAM} is not as configured: ${differences.map(describeChange).join('; ')}; ${SETUP_ADVICE}`,
    );
  }
  return { action: 'unchanged', changes: [] };
}

function refusal(action: string, wanted: ReturnType<typeof paymentStreamConfig>, error: unknown): Error {
  const settings = Object.entries(VARIABLES)
    .map(([field, variable]) => `${field} ${String(wanted[field as keyof typeof wanted])} (${variable})`)
    .join(', ');
  return new Error(
    `JetStream stream ${PAYMENT_STREAM} could not be ${action}d with ${settings}: ${(error as Error).message}`,
  );
}

export function isNotFound(error: unknown): boolean {
  return error instanceof Error && /not found/i.test(error.message);
}
