import type { NatsConnection } from 'nats';
import type { Config } from '../config';
import type { OrdersRepository } from '../db/orders-repository';
import { createPaymentActivities } from './payments';
import { createPersistenceActivities } from './persistence';
import { createPlacementActivities } from './placement';
import { createProductActivities } from './products';

export interface ActivityDeps {
  orders: OrdersRepository;
  nats: NatsConnection;
  config: Pick<Config, 'subjects'> & { nats: Pick<Config['nats'], 'requestTimeoutMs'> };
}

/** Every activity of the OrderWorkflow, bound to the dependencies it is given. */
export function createActivities({ orders, nats, config }: ActivityDeps) {
  const products = createProductActivities({
    nats,
    validateProductsSubject: config.subjects.validateProducts,
    requestTimeoutMs: config.nats.requestTimeoutMs,
  });
  const persistence = createPersistenceActivities({ orders });
  const payments = createPaymentActivities({
    nats,
    createPaymentSessionSubject: config.subjects.createPaymentSession,
    expirePaymentSessionSubject: config.subjects.expirePaymentSession,
    identifyPaymentsSubject: config.subjects.identifyPayments,
    requestTimeoutMs: config.nats.requestTimeoutMs,
  });
  // The single steps stay registered: orders started before the local-activities patch call them.
  return {
    ...products,
    ...persistence,
    ...payments,
    ...createPlacementActivities({ products, persistence, payments }),
  };
}

export type OrderActivities = ReturnType<typeof createActivities>;
