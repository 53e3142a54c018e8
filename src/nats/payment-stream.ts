import { RetentionPolicy, StorageType, type NatsConnection } from 'nats';

/** JetStream stream that captures `payment.succeeded`, including plain publishes from NestJS peers. */
export const PAYMENT_STREAM = 'PAYMENTS';
export const PAYMENT_SUCCEEDED_SUBJECT = 'payment.succeeded';
export const REFUND_REQUESTED_SUBJECT = 'payment.refund.requested';

/** Creates the stream, or leaves it as it is when it exists; safe to call from every process. */
export async function ensurePaymentStream(nc: NatsConnection): Promise<void> {
  const jsm = await nc.jetstreamManager();
  try {
    await jsm.streams.info(PAYMENT_STREAM);
  } catch {
    try {
      await jsm.streams.add({
        name: PAYMENT_STREAM,
        subjects: [PAYMENT_SUCCEEDED_SUBJECT, REFUND_REQUESTED_SUBJECT],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        // Deduplicates webhook retries published with the Stripe event id as message id.
        duplicate_window: 24 * 60 * 60 * 1_000_000_000,
      });
    } catch (error) {
      // Another process created it between our two calls.
      await jsm.streams.info(PAYMENT_STREAM).catch(() => {
        throw error;
      });
    }
  }
}
