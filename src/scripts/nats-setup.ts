import { loadConfigOrExit } from '../config';
import { createLogger } from '../logger';
import { connectNats } from '../nats/connection';
import { PAYMENT_STREAM, type EnsureResult } from '../nats/payment-stream';
import { adminNatsConfig, setUpPaymentStream } from '../nats/stream-setup';
import { runMain } from '../process-lifecycle';

/**
 * `npm run nats:setup`: the deploy-time step that creates or updates the PAYMENTS stream and its
 * durable consumers, as NATS_ADMIN_USER (or the NATS_* credentials when unset). Run it before
 * starting processes with PAYMENT_STREAM_SETUP=check (the production default).
 */
const config = loadConfigOrExit('nats-setup');
const logger = createLogger('nats-setup', config.logLevel);

const line = (name: string, result: EnsureResult): string =>
  `${name}: ${result.action}${result.changes.map((change) => `; ${change}`).join('')}\n`;

runMain(logger, async () => {
  const nats = await connectNats(adminNatsConfig(config.nats), 'orders-nats-setup');
  try {
    const result = await setUpPaymentStream(nats, config.paymentStream);
    process.stdout.write(line(`stream ${PAYMENT_STREAM}`, result.stream));
    for (const [durable, consumer] of Object.entries(result.consumers)) {
      process.stdout.write(line(`consumer ${durable}`, consumer));
    }
  } finally {
    await nats.close();
  }
});
