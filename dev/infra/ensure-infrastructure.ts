import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseConfig, type Config } from '../../src/config';
import { migrate } from '../../src/db/migrate';
import { createLogger } from '../../src/logger';
import { connectNats } from '../../src/nats/connection';
import { ensurePaymentStream, type EnsureResult } from '../../src/nats/payment-stream';
import { ensureBinary } from './binaries';
import { isLocal, hostPortEndpoint, urlEndpoint, type Endpoint } from './endpoints';
import { managedFromPid, type ManagedProcess } from './managed-process';
import { readPidFiles, removePidFile, SERVICE_STOP_SIGNALS, writePidFile } from './pid-files';
import { isPortOpen } from './ports';
import { startClusterHere } from './temporal-cluster/start-here';
import { startService } from './start-service';
import { registerSearchAttributes, waitForTemporal } from './temporal-cli';

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
 * Makes Temporal, NATS (JetStream), PostgreSQL and stripe-mock answer at the configured addresses:
 * reuses whatever already answers, starts the rest under `dataDir` (detached, so they outlive this
 * process), then applies the migrations and creates the payment stream. Safe to run again.
 */
export async function ensureInfrastructure(options: InfrastructureOptions): Promise<Infrastructure> {
  const config = parseConfig(options.env ?? process.env);
  const { dataDir, log } = options;
  for (const dir of [dataDir, path.join(dataDir, 'logs')]) mkdirSync(dir, { recursive: true });
  const recorded = new Map(
    readPidFiles(dataDir)
      .filter((s) => s.running)
      .map((s) => [s.name, s.pid]),
  );
  const started: ManagedProcess[] = [];

  const report = (name: string, what: 'reused' | 'started', detail: string): void => {
    const pid = recorded.get(name);
    const origin = what === 'reused' && pid !== undefined ? ` (started earlier from ${dataDir}, pid ${pid})` : '';
    log(`${name.padEnd(12)} ${what.padEnd(8)} ${detail}${origin}`);
  };
  const track = (service: ManagedProcess): ManagedProcess => {
    writePidFile(dataDir, service.name, service.pid);
    const owned: ManagedProcess = {
      name: service.name,
      pid: service.pid,
      stop: async () => {
        await service.stop();
        removePidFile(dataDir, service.name);
      },
    };
    started.push(owned);
    return owned;
  };
  const logFile = (name: string): string => path.join(dataDir, 'logs', `${name}.log`);

  try {
    const temporalBinary = await ensureBinary('temporal', log);
    const temporal = hostPortEndpoint(config.temporal.address, 7233);
    const cluster = config.temporal.profile === 'cluster';
    const uiPort = options.temporalUiPort ?? (cluster ? config.temporal.cluster.ports.ui : temporal.port + 1000);
    const target = {
      namespace: config.temporal.namespace,
      tls: config.temporal.tls,
      apiKey: config.temporal.apiKey,
    };
    const ensureTemporal = async (): Promise<void> => {
      if (await isPortOpen(temporal.host, temporal.port)) {
        // It may be a server still starting (another terminal): wait until it serves requests.
        await waitForTemporal(temporalBinary, { address: config.temporal.address, ...target }, 60_000);
        report('temporal', 'reused', config.temporal.address);
      } else if (cluster) {
        requireLocal('Temporal', temporal);
        await startClusterHere(config, {
          dataDir,
          temporalBinary,
          host: temporal.host,
          port: temporal.port,
          uiPort,
          log,
          track,
        });
      } else {
        requireLocal('Temporal', temporal);
        const dbFile = path.join(dataDir, 'temporal.db');
        const service = await startService('temporal', {
          executable: temporalBinary,
          host: temporal.host,
          port: temporal.port,
          uiPort,
          dbFile,
          namespace: config.temporal.namespace,
          detached: true,
          logFile: logFile('temporal'),
        });
        track(service);
        report(
          'temporal',
          'started',
          `${config.temporal.address}, Web UI http://localhost:${uiPort}, data ${dbFile}, pid ${service.pid}`,
        );
      }
      await registerSearchAttributes(temporalBinary, config.temporal.address, target);
    };
    // The cluster keeps its state in PostgreSQL, so it starts once PostgreSQL answers.
    if (!cluster) await ensureTemporal();

    const nats = urlEndpoint(config.nats.url, 4222);
    if (await isPortOpen(nats.host, nats.port)) {
      report('nats', 'reused', config.nats.url);
    } else {
      requireLocal('NATS', nats);
      const service = await startService('nats', {
        log,
        host: nats.host,
        port: nats.port,
        storeDir: path.join(dataDir, 'nats'),
        detached: true,
        logFile: logFile('nats'),
      });
      track(service);
      report('nats', 'started', `${config.nats.url} (JetStream in ${path.join(dataDir, 'nats')}), pid ${service.pid}`);
    }

    const postgres = urlEndpoint(config.databaseUrl, 5432);
    const postgresAt = `${postgres.host}:${postgres.port}`;
    if (await isPortOpen(postgres.host, postgres.port)) {
      report('postgres', 'reused', postgresAt);
    } else {
      requireLocal('PostgreSQL', postgres);
      const service = await startService('postgres', {
        host: postgres.host,
        port: postgres.port,
        dataDir: path.join(dataDir, 'postgres'),
        detached: true,
        logFile: logFile('postgres'),
      });
      track(service);
      report('postgres', 'started', `${postgresAt} (data ${path.join(dataDir, 'postgres')}), pid ${service.pid}`);
    }
    if (cluster) await ensureTemporal();

    const stripe = urlEndpoint(config.stripe.apiBase, 80);
    if (await isPortOpen(stripe.host, stripe.port)) {
      report('stripe-mock', 'reused', config.stripe.apiBase);
    } else {
      requireLocal('stripe-mock', stripe);
      const service = await startService('stripe-mock', {
        log,
        host: stripe.host,
        port: stripe.port,
        detached: true,
        logFile: logFile('stripe-mock'),
      });
      track(service);
      report('stripe-mock', 'started', `${config.stripe.apiBase}, pid ${service.pid}`);
    }

    const applied = await migrate(config.migrationDatabaseUrl, createLogger('infra', 'silent'));
    log(`${'migrations'.padEnd(12)} ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}`);
    const stream = await ensurePaymentStreamAt(config);
    log(
      `${'jetstream'.padEnd(12)} payment stream ${stream.action === 'unchanged' ? 'ready' : stream.action}${stream.changes.map((change) => `; ${change}`).join('')}`,
    );

    return {
      started,
      temporalAddress: config.temporal.address,
      temporalUiUrl: `http://localhost:${uiPort}`,
      natsUrl: config.nats.url,
      databaseUrl: config.databaseUrl,
      stripeApiBase: config.stripe.apiBase,
      temporalBinary,
    };
  } catch (error) {
    // Leave nothing half-started behind: stop what this call started, newest first.
    for (const service of [...started].reverse()) await service.stop().catch(() => undefined);
    throw error;
  }
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

async function ensurePaymentStreamAt(config: Config): Promise<EnsureResult> {
  const nc = await connectNats(config.nats, 'orders-infra');
  try {
    return await ensurePaymentStream(nc, config.paymentStream);
  } finally {
    await nc.close();
  }
}

function requireLocal(service: string, endpoint: Endpoint): void {
  if (!isLocal(endpoint)) {
    throw new Error(
      `${service} does not answer at ${endpoint.host}:${endpoint.port}, and that is not this machine, so it cannot be started here`,
    );
  }
}
