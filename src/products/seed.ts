import type { DatabasePool } from 'slonik';
import { loadConfigOrExit } from '../config';
import { createDatabasePool, closeDatabasePool } from '../db/pool';
import { createLogger } from '../logger';
import { runMain } from '../process-lifecycle';
import { createProductsRepository, type NewProduct } from './products-repository';

/** The demo catalogue; fixed ids so docs and examples can name products 1 to 8. */
export const DEMO_PRODUCTS: ReadonlyArray<NewProduct & { id: number }> = [
  { id: 1, name: 'Mechanical keyboard', price: 89.99 },
  { id: 2, name: 'Wireless mouse', price: 24.5 },
  { id: 3, name: 'USB-C hub', price: 39.9 },
  { id: 4, name: '27" monitor', price: 249 },
  { id: 5, name: 'Laptop stand', price: 32.75 },
  { id: 6, name: 'Noise-cancelling headphones', price: 199.99 },
  { id: 7, name: 'Webcam 1080p', price: 54.2 },
  { id: 8, name: 'Desk lamp', price: 19.99 },
];

export interface SeedResult {
  inserted: number[];
  alreadyPresent: number[];
}

/** Inserts the demo products that are missing; products already there are left untouched. */
export async function seedProducts(pool: DatabasePool): Promise<SeedResult> {
  const inserted = await createProductsRepository(pool).insertMissing(DEMO_PRODUCTS);
  const alreadyPresent = DEMO_PRODUCTS.map((product) => product.id).filter((id) => !inserted.includes(id));
  return { inserted, alreadyPresent };
}

/** `npm run seed`. */
function main(): void {
  const config = loadConfigOrExit('seed');
  const logger = createLogger('seed', config.logLevel);
  runMain(logger, async () => {
    const pool = await createDatabasePool(config.databaseUrl);
    try {
      const result = await seedProducts(pool);
      logger.info(
        result,
        result.inserted.length === 0
          ? 'demo catalogue already present, nothing changed'
          : `inserted ${result.inserted.length} demo products`,
      );
    } finally {
      await closeDatabasePool(pool);
    }
  });
}

// Run only as a command, not when imported by tests or other scripts.
if (require.main === module) main();
