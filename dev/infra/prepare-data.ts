import { parseConfig } from '../../src/config';
import { migrate } from '../../src/db/migrate';
import { createLogger } from '../../src/logger';
import { connectNats } from '../../src/nats/connection';
import { ensurePaymentStream } from '../../src/nats/payment-stream';
import type { Stack } from './stack';
import type { StackContext } from './stack-context';

/** Once the services answer: the migrations, then the payment stream (reported with configured services). */
export async function prepareData(ctx: StackContext, stack: Stack): Promise<void> {
  const { configured, config, log } = ctx;
  await migrate(
    configured && config ? config.migrationDatabaseUrl : stack.databaseUrl,
    createLogger('stack', 'silent'),
  ).then((applied) => {
    if (configured) {
      log(`${'migrations'.padEnd(12)} ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}`);
    }
  });
  const streamConfig = configured && config ? config : parseConfig(stack.env);
  const nats = await connectNats(streamConfig.nats, 'orders-stack');
  const stream = await ensurePaymentStream(nats, streamConfig.paymentStream).finally(() => nats.close());
  if (configured) {
    log(
      `${'jetstream'.padEnd(12)} payment stream ${stream.action === 'unchanged' ? 'ready' : stream.action}${stream.changes.map((change) => `; ${change}`).join('')}`,
    );
  }
}
