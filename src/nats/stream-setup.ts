import type { NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager } from '@nats-io/jetstream';
import type { Config, PaymentStreamSettings } from '../config';
import { PAYMENT_CONSUMER } from '../gateway/payment-subscriber';
import { REFUND_FAILED_CONSUMER, REFUNDED_CONSUMER } from '../gateway/refund-outcome-subscriber';
import { REFUND_CONSUMER } from '../payments/refund-request-consumer';
import { ensureDurableConsumer, type DurableSpec } from './durable-consumer';
import { ensurePaymentStream, type EnsureResult } from './payment-stream';
import {
  PAYMENT_SUCCEEDED_SUBJECT,
  REFUND_FAILED_SUBJECT,
  REFUND_REQUESTED_SUBJECT,
  REFUNDED_SUBJECT,
} from './subjects';

/**
 * The deploy-time half of stream management (`npm run nats:setup`): creates or updates the PAYMENTS
 * stream and the durable consumers the processes read it with, as a NATS user allowed to. The
 * processes themselves, with PAYMENT_STREAM_SETUP=check, only compare what they find.
 */

/** Every durable consumer of the stream, with the subject it reads. */
export const PAYMENT_STREAM_CONSUMERS: readonly DurableSpec[] = [
  { durable: PAYMENT_CONSUMER, subject: PAYMENT_SUCCEEDED_SUBJECT },
  { durable: REFUND_CONSUMER, subject: REFUND_REQUESTED_SUBJECT },
  { durable: REFUNDED_CONSUMER, subject: REFUNDED_SUBJECT },
  { durable: REFUND_FAILED_CONSUMER, subject: REFUND_FAILED_SUBJECT },
];

export interface SetupResult {
  stream: EnsureResult;
  consumers: Record<string, EnsureResult>;
}

/** Brings the stream, then each consumer, to the configuration (whatever PAYMENT_STREAM_SETUP says). */
export async function setUpPaymentStream(nats: NatsConnection, settings: PaymentStreamSettings): Promise<SetupResult> {
  const stream = await ensurePaymentStream(nats, { ...settings, setup: 'manage' });
  const jsm = await jetstreamManager(nats);
  const consumers: Record<string, EnsureResult> = {};
  for (const spec of PAYMENT_STREAM_CONSUMERS) consumers[spec.durable] = await ensureDurableConsumer(jsm, spec);
  return { stream, consumers };
}

/** The connection settings of the admin user (NATS_ADMIN_USER), or the processes' own when unset. */
export function adminNatsConfig(nats: Config['nats']): Config['nats'] {
  if (nats.admin === undefined) return nats;
  // Only the credentials change: servers and TLS stay as configured.
  return {
    ...nats,
    user: nats.admin.user,
    password: nats.admin.password,
    token: undefined,
    nkeySeedFile: undefined,
    credsFile: undefined,
  };
}
