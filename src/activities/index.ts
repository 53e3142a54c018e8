import type { NatsConnection } from 'nats';
import type { Config } from '../config';
import type { OrdersRepository } from '../db/orders-repository';
import { createPaymentActivities } from './payments';
import { createPersistenceActivities } from './persistence';
import { createProductActivities } from './products';

export interface ActivityDeps {
  orders: OrdersRepository;
  nats: NatsConnection;
  config: Pick<Config, 'subjects'> & { nats: Pick<Config['nats'], 'requestTimeoutMs'> };
}

/** Every activity of the OrderWorkflow, bound to the dependencies it is given. */
export function createActivities({ orders, nats, config }: ActivityDeps) {
  return {
    ...createProductActivities({
      nats,
      validateProductsSubject: config.subjects.validateProducts,
      requestTimeoutMs: config.nats.requestTimeoutMs,
    }),
    ...createPersistenceActivities({ orders }),
    ...createPaymentActivities({
      nats,
      createPaymentSessionSubject: config.subjects.createPaymentSession,
      expirePaymentSessionSubject: config.subjects.expirePaymentSession,
      requestTimeoutMs: config.nats.requestTimeoutMs,
    }),
  };
}

export type OrderActivities = ReturnType<typeof createActivities>;
