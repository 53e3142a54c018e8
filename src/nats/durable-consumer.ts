import { AckPolicy, DeliverPolicy, type ConsumerConfig, type JetStreamManager } from '@nats-io/jetstream';
import { describeChange, type Difference } from './differences';
import type { PaymentStreamSettings } from '../config';
import { isNotFound, PAYMENT_STREAM, SETUP_ADVICE, type EnsureResult } from './payment-stream';

const NANOS_PER_MS = 1_000_000;

/** A durable pull consumer of one subject of the payment stream. */
export interface DurableSpec {
  durable: string;
  subject: string;
}

/** The consumer's settings that this code owns. */
export function durableConsumerConfig(spec: DurableSpec) {
  return {
    durable_name: spec.durable,
    filter_subject: spec.subject,
    ack_policy: AckPolicy.Explicit,
    // A consumer created again after it was lost starts from the stream's first message, so
    // nothing published meanwhile is skipped (handlers are idempotent).
    deliver_policy: DeliverPolicy.All,
    ack_wait: 30_000 * NANOS_PER_MS,
  };
}

/** Fields NATS never changes on an existing consumer. */
const FIXED_FIELDS = new Set(['ack_policy', 'deliver_policy']);

export function consumerDifferences(
  existing: ConsumerConfig,
  wanted: ReturnType<typeof durableConsumerConfig>,
): Difference[] {
  const differences: Difference[] = [];
  for (const field of ['filter_subject', 'ack_policy', 'deliver_policy', 'ack_wait'] as const) {
    if (existing[field] !== wanted[field]) {
      differences.push({
        field,
        found: existing[field] ?? null,
        wanted: wanted[field],
        updatable: !FIXED_FIELDS.has(field),
      });
    }
  }
  return differences;
}

/**
 * Creates the durable consumer, or brings an existing one to the wanted settings; a difference
 * NATS cannot apply (ack or deliver policy) throws an error naming the field. With `setup` 'check'
 * it only reads the consumer: a missing one or any difference throws, naming the fields.
 */
export async function ensureDurableConsumer(
  jsm: JetStreamManager,
  spec: DurableSpec,
  setup: PaymentStreamSettings['setup'] = 'manage',
): Promise<EnsureResult> {
  const wanted = durableConsumerConfig(spec);
  const existing = await jsm.consumers.info(PAYMENT_STREAM, spec.durable).catch((error: unknown) => {
    if (isNotFound(error) && !/stream/i.test((error as Error).message)) return null;
    throw error;
  });
  if (setup === 'check') {
    const name = `JetStream consumer ${spec.durable} of stream ${PAYMENT_STREAM}`;
    if (existing === null) throw new Error(`${name} does not exist: ${SETUP_ADVICE}`);
    const differences = consumerDifferences(existing.config, wanted);
    if (differences.length > 0) {
      throw new Error(`${name} is not as configured: ${differences.map(describeChange).join('; ')}; ${SETUP_ADVICE}`);
    }
    return { action: 'unchanged', changes: [] };
  }
  if (existing === null) {
    // Creating it again with the same settings is not an error, so two replicas may race here.
    await jsm.consumers.add(PAYMENT_STREAM, wanted);
    return { action: 'created', changes: [] };
  }
  const differences = consumerDifferences(existing.config, wanted);
  if (differences.length === 0) return { action: 'unchanged', changes: [] };
  const name = `JetStream consumer ${spec.durable} of stream ${PAYMENT_STREAM}`;
  const fixed = differences.filter((difference) => !difference.updatable);
  if (fixed.length > 0) {
    throw new Error(
      `${name} differs where NATS cannot update it: ${fixed.map(describeChange).join('; ')}. Delete the consumer to recreate it.`,
    );
  }
  const update = Object.fromEntries(differences.map((difference) => [difference.field, difference.wanted]));
  try {
    await jsm.consumers.update(PAYMENT_STREAM, spec.durable, update);
  } catch (error) {
    throw new Error(
      `${name} could not be updated (${differences.map(describeChange).join('; ')}): ${(error as Error).message}`,
    );
  }
  return { action: 'updated', changes: differences.map(describeChange) };
}
