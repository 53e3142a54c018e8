import path from 'node:path';
import { parseDevConfig } from '../config';
import { managedFromPid, type ManagedProcess } from './managed-process';
import { readPidFiles, removePidFile, SERVICE_STOP_SIGNALS } from './pid-files';
import { startStack } from './stack';

export interface InfrastructureOptions {
  /** Where started services keep their state, logs and pid files (`.data/` by default). */
  dataDir: string;
  log: (line: string) => void;
  /** Environment to read the configuration from; process.env by default. */
  env?: Record<string, string | undefined>;
  /** Web UI port of a Temporal server started here; the CLI's convention (gRPC port + 1000) by default. */
  temporalUiPort?: number;
}

export interface Infrastructure {
  /** Only what this call started (not what it reused), so a caller stops nothing it does not own. */
  started: ManagedProcess[];
  temporalAddress: string;
  temporalUiUrl: string;
  natsUrl: string;
  databaseUrl: string;
  stripeApiBase: string;
  temporalBinary: string;
}

/**
 * `npm run infra`: makes Temporal, NATS (JetStream), PostgreSQL and stripe-mock answer at the
 * configured addresses (the stack launcher with configured services and no apps): reuses whatever
 * already answers, starts the rest under `dataDir` (detached, so they outlive this process), then
 * applies the migrations and creates the payment stream. Safe to run again.
 */
export async function ensureInfrastructure(options: InfrastructureOptions): Promise<Infrastructure> {
  const env = options.env ?? process.env;
  const stack = await startStack({
    services: 'configured',
    temporal: parseDevConfig(env).temporal.profile === 'cluster' ? 'cluster' : 'file',
    dir: options.dataDir,
    env,
    log: options.log,
    temporalUiPort: options.temporalUiPort,
  });
  return {
    started: stack.started(),
    temporalAddress: stack.temporalAddress,
    temporalUiUrl: stack.temporalUiUrl ?? '',
    natsUrl: stack.natsUrl,
    databaseUrl: stack.databaseUrl,
    stripeApiBase: stack.stripeApiBase,
    temporalBinary: stack.temporalBinary,
  };
}

/** `npm run infra -- stop`: stops the services recorded in the data folder's pid files. */
export async function stopRecordedServices(dataDir: string, log: (line: string) => void): Promise<void> {
  const recorded = readPidFiles(dataDir);
  if (recorded.length === 0) log(`nothing recorded in ${path.join(dataDir, 'pids')}: nothing to stop`);
  for (const service of recorded) {
    if (service.running) {
      await managedFromPid(service.name, service.pid, SERVICE_STOP_SIGNALS[service.name]).stop();
      log(`${service.name.padEnd(12)} stopped  (pid ${service.pid})`);
    } else {
      log(`${service.name.padEnd(12)} was not running (stale pid file removed)`);
    }
    removePidFile(dataDir, service.name);
  }
}
