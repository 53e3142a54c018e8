import type { NatsConnection } from 'nats';
import type { DatabasePool } from 'slonik';
import type { Logger } from '../logger';
import { serveRequests } from '../nats/nest-transport';
import { createProductHandlers, PRODUCTS_SUBJECTS } from './handlers';
import { createProductsRepository } from './products-repository';

export const PRODUCTS_QUEUE_GROUP = 'products-service';

export interface ProductsServiceDeps {
  nc: NatsConnection;
  pool: DatabasePool;
  logger: Logger;
  /** The subject orders use to validate products (config.subjects.validateProducts). */
  validateSubject?: string;
}

export interface ProductsService {
  subjects: string[];
  /** Stops taking requests and answers those in flight; the connection and pool stay open. */
  stop(): Promise<void>;
}

/** Starts answering the products subjects; resolves once the server knows the subscriptions. */
export async function startProductsService(deps: ProductsServiceDeps): Promise<ProductsService> {
  const handlers = createProductHandlers(
    createProductsRepository(deps.pool),
    deps.validateSubject ?? PRODUCTS_SUBJECTS.validate,
  );
  const subjects = Object.keys(handlers);
  const server = serveRequests(
    deps.nc,
    subjects,
    PRODUCTS_QUEUE_GROUP,
    async (payload, subject) => {
      const handle = handlers[subject];
      if (handle === undefined) throw new Error(`No handler for ${subject}`);
      return handle(payload);
    },
    deps.logger,
  );
  // A round trip to the server, so a request sent after this cannot meet "no responders".
  await deps.nc.flush();
  return { subjects, stop: () => server.drain() };
}
