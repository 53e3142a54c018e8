import { loadConfigOrExit } from '../config';
import { createLogger } from '../logger';
import { connectNats } from '../nats/connection';
import { natsReady } from '../observability/readiness';
import { startObservabilityServer } from '../observability/server';
import { startTracing } from '../observability/tracing';
import { runMain, stopOnSignals } from '../process-lifecycle';
import { startPaymentsService } from './service';
import { createStripeClient } from './stripe-client';

/** `npm run payments`: the companion payments service as a process. */
function main(): void {
  const config = loadConfigOrExit('payments');
  const logger = createLogger('payments', config.logLevel);
  const tracing = startTracing(config.tracing, 'orders-payments');
  runMain(logger, async () => {
    const stripe = createStripeClient(config.stripe);
    const nats = await connectNats(config.nats, 'payments-service', logger);
    const service = await startPaymentsService({ nats, stripe, logger, config });
    const observability = await startObservabilityServer({
      port: config.metrics.paymentsPort,
      logger,
      checks: { nats: natsReady(nats) },
    });
    stopOnSignals(logger, config.shutdownTimeoutMs, async () => {
      await observability?.close();
      await service.stop();
      await nats.drain();
      await tracing?.shutdown();
    });
    logger.info(
      {
        url: service.url,
        publicUrl: config.payments.publicUrl,
        subjects: service.subjects,
        stripeApi: config.stripe.apiBase,
      },
      'ready',
    );
  });
}

main();
