import type { NatsConnection } from '@nats-io/nats-core';
import type { DatabasePool } from 'slonik';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { serveRequests } from '../nats/nest-transport';
import { createProductHandlers } from './handlers';
import { createProductsRepository } from './products-repository';

export const PRODUCTS_QUEUE_GROUP = 'products-service';

export interface ProductsServiceDeps {
  nats: NatsConnection;
  pool: DatabasePool;
  logger: Logger;
  /** subjects.validateProducts: the subject orders validate products on; nats.inboxPrefixes: where it answers. */
  config: Pick<Config, 'subjects'> & { nats: Pick<Config['nats'], 'inboxPrefixes'> };
}

export interface ProductsService {
  subjects: string[];
  /** Stops taking requests and answers those in flight; the connection and pool stay open. */
  stop(): Promise<void>;
}

/** Starts answering the products subjects; resolves once the server knows the subscriptions. */
export async function startProductsService({
  nats,
  pool,
  logger,
  config,
}: ProductsServiceDeps): Promise<ProductsService> {
  const handlers = createProductHandlers(createProductsRepository(pool), config.subjects.validateProducts);
  const server = serveRequests(nats, handlers, PRODUCTS_QUEUE_GROUP, logger, config.nats.inboxPrefixes);
  // A round trip to the server, so a request sent after this cannot meet "no responders".
  await nats.flush();
  return { subjects: server.subjects, stop: () => server.drain() };
}
