import type { NatsConnection } from '@nats-io/nats-core';
import { createActivities, type ActivityDeps } from '../activities';
import type { Config } from '../config';
import { createStripePayments } from '../activities/stripe-payments';
import { createDeadLettersRepository } from '../db/dead-letters-repository';
import { createOrdersRepository, type OrdersRepository } from '../db/orders-repository';
import type { DatabasePool } from '../db/pool';
import { createRefundsRepository } from '../db/refunds-repository';
import { createStripeClient } from '../payments/stripe-client';

/**
 * The worker's activities over its database pool and NATS connection, as its configuration asks
 * (the bench runs them the same way, with `orders` timed).
 */
export function workerActivities({
  pool,
  nats,
  config,
  orders = createOrdersRepository(pool),
}: {
  pool: DatabasePool;
  nats: NatsConnection;
  config: ActivityDeps['config'] & Pick<Config, 'stripe'>;
  orders?: OrdersRepository;
}) {
  return createActivities({
    orders,
    refunds: createRefundsRepository(pool),
    deadLetters: createDeadLettersRepository(pool),
    nats,
    config,
    // Only a worker that verifies payments with Stripe talks to Stripe (read-only).
    ...(config.paymentTrust.verification === 'stripe'
      ? { stripe: createStripePayments(createStripeClient(config.stripe)) }
      : {}),
  });
}
