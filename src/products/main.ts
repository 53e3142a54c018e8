import { loadConfigOrExit } from '../config';
import { createDatabasePool, closeDatabasePool } from '../db/pool';
import { createLogger } from '../logger';
import { connectNats } from '../nats/connection';
import { databaseReady, natsReady } from '../observability/readiness';
import { startObservabilityServer } from '../observability/server';
import { startTracing } from '../observability/tracing';
import { runMain, stopOnSignals } from '../process-lifecycle';
import { startProductsService } from './service';

/** `npm run products`: the companion products service as a process. */
function main(): void {
  const config = loadConfigOrExit('products');
  const logger = createLogger('products', config.logLevel);
  const tracing = startTracing(config.tracing, 'orders-products');
  runMain(logger, async () => {
    const pool = await createDatabasePool(config.databaseUrl);
    const nats = await connectNats(config.nats, 'products-service', logger);
    const service = await startProductsService({ nats, pool, logger, config });
    const observability = await startObservabilityServer({
      port: config.metrics.productsPort,
      logger,
      checks: { nats: natsReady(nats), database: databaseReady(pool) },
    });
    stopOnSignals(logger, config.shutdownTimeoutMs, async () => {
      await observability?.close();
      await service.stop();
      await nats.drain();
      await closeDatabasePool(pool);
      await tracing?.shutdown();
    });
    logger.info({ subjects: service.subjects }, 'ready');
  });
}

main();
