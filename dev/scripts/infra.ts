import { defaultDataDir } from '../infra/data-dir';
import { ensureInfrastructure, stopRecordedServices } from '../infra/ensure-infrastructure';

/** `npm run infra` starts what is missing; `npm run infra -- stop` stops what it started. */
async function main(): Promise<void> {
  const dataDir = defaultDataDir();
  const log = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  const command = process.argv[2] ?? 'up';
  if (command === 'stop') {
    await stopRecordedServices(dataDir, log);
    return;
  }
  if (command !== 'up') throw new Error(`unknown command "${command}": use "npm run infra" or "npm run infra -- stop"`);
  const infra = await ensureInfrastructure({ dataDir, log });
  log('');
  log(
    `Temporal ${infra.temporalAddress} (Web UI ${infra.temporalUiUrl}), NATS ${infra.natsUrl}, stripe-mock ${infra.stripeApiBase}`,
  );
  if (infra.started.length > 0)
    log('Started services keep running in the background; stop them with: npm run infra -- stop');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
