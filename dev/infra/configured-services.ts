import path from 'node:path';
import type { Config } from '../../src/config';
import { parseDevConfig, type DevConfig } from '../config';
import { hostPortEndpoint, isLocal, urlEndpoint, type Endpoint } from './endpoints';
import type { ManagedProcess } from './managed-process';
import { readPidFiles } from './pid-files';
import { isPortOpen } from './ports';
import type { InfraName } from './stack';
import type { ServiceEndpoints, StackContext } from './stack-context';
import { startService } from './start-service';
import { registerSearchAttributes, waitForTemporal } from './temporal-cli';
import { startClusterHere } from './temporal-cluster/start-here';

/** `npm start`: the configured addresses; reuses what answers, starts the rest detached in `dir`. */
export async function startConfigured(ctx: StackContext, temporalBinary: string): Promise<ServiceEndpoints> {
  if (!ctx.config) throw new Error('no configuration');
  return new ConfiguredServices(ctx, ctx.config, temporalBinary).start();
}

class ConfiguredServices {
  private readonly dev: DevConfig;
  private readonly onCluster: boolean;
  /** What an earlier start from this folder left running, by name. */
  private readonly recorded: Map<string, number>;

  constructor(
    private readonly ctx: StackContext,
    private readonly config: Config,
    private readonly temporalBinary: string,
  ) {
    this.dev = parseDevConfig(ctx.sourceEnv, config);
    this.onCluster = ctx.options.temporal === 'cluster';
    this.recorded = new Map(
      readPidFiles(ctx.dir)
        .filter((s) => s.running)
        .map((s) => [s.name, s.pid]),
    );
  }

  async start(): Promise<ServiceEndpoints> {
    const { ctx, config, onCluster } = this;
    const temporal = hostPortEndpoint(config.temporal.address, 7233);
    const uiPort =
      ctx.options.temporalUiPort ?? (onCluster ? this.dev.temporal.cluster.ports.ui : temporal.port + 1000);
    // The cluster keeps its state in PostgreSQL, so it starts once PostgreSQL answers.
    if (!onCluster) await this.ensureTemporal(temporal, uiPort);
    ctx.checkAborted();

    const nats = urlEndpoint(config.nats.url, 4222);
    await this.reuseOrStart('nats', 'NATS', nats, config.nats.url, async () => {
      const storeDir = path.join(ctx.dir, 'nats');
      const service = await startService('nats', {
        log: ctx.log,
        host: nats.host,
        port: nats.port,
        storeDir,
        detached: true,
        logFile: ctx.logFile('nats'),
      });
      return { service, detail: `${config.nats.url} (JetStream in ${storeDir})` };
    });

    const postgres = urlEndpoint(config.databaseUrl, 5432);
    const postgresAt = `${postgres.host}:${postgres.port}`;
    ctx.checkAborted();
    await this.reuseOrStart('postgres', 'PostgreSQL', postgres, postgresAt, async () => {
      const dataDir = path.join(ctx.dir, 'postgres');
      const service = await startService('postgres', {
        host: postgres.host,
        port: postgres.port,
        dataDir,
        detached: true,
        logFile: ctx.logFile('postgres'),
      });
      return { service, detail: `${postgresAt} (data ${dataDir})` };
    });
    ctx.checkAborted();
    if (onCluster) await this.ensureTemporal(temporal, uiPort);
    ctx.checkAborted();

    const stripe = urlEndpoint(config.stripe.apiBase, 80);
    await this.reuseOrStart('stripe-mock', 'stripe-mock', stripe, config.stripe.apiBase, async () => {
      const service = await startService('stripe-mock', {
        log: ctx.log,
        host: stripe.host,
        port: stripe.port,
        detached: true,
        logFile: ctx.logFile('stripe-mock'),
      });
      return { service, detail: config.stripe.apiBase };
    });
    return {
      temporalAddress: config.temporal.address,
      temporalUiUrl: `http://localhost:${uiPort}`,
      natsUrl: config.nats.url,
      databaseUrl: config.databaseUrl,
      stripeApiBase: config.stripe.apiBase,
    };
  }

  private async ensureTemporal(temporal: Endpoint, uiPort: number): Promise<void> {
    const { ctx, config, temporalBinary } = this;
    const target = { namespace: config.temporal.namespace, tls: config.temporal.tls, apiKey: config.temporal.apiKey };
    if (await isPortOpen(temporal.host, temporal.port)) {
      // It may be a server still starting (another terminal): wait until it serves requests.
      await waitForTemporal(temporalBinary, { address: config.temporal.address, ...target }, 60_000);
      this.report('temporal', 'reused', config.temporal.address);
    } else if (this.onCluster) {
      requireLocal('Temporal', temporal);
      await startClusterHere(config, {
        dev: this.dev,
        dataDir: ctx.dir,
        temporalBinary,
        host: temporal.host,
        port: temporal.port,
        uiPort,
        log: ctx.log,
        track: (service) => ctx.own('temporal', service),
      });
    } else {
      requireLocal('Temporal', temporal);
      const dbFile = path.join(ctx.dir, 'temporal.db');
      const service = await startService('temporal', {
        executable: temporalBinary,
        host: temporal.host,
        port: temporal.port,
        uiPort,
        dbFile,
        namespace: config.temporal.namespace,
        detached: true,
        logFile: ctx.logFile('temporal'),
      });
      ctx.own('temporal', service);
      this.report(
        'temporal',
        'started',
        `${config.temporal.address}, Web UI http://localhost:${uiPort}, data ${dbFile}, pid ${service.pid}`,
      );
    }
    await registerSearchAttributes(temporalBinary, config.temporal.address, target);
  }

  /** Reuses what answers at `endpoint`; otherwise starts it here, detached, and reports it with its pid. */
  private async reuseOrStart(
    name: InfraName,
    label: string,
    endpoint: Endpoint,
    address: string,
    start: () => Promise<{ service: ManagedProcess; detail: string }>,
  ): Promise<void> {
    if (await isPortOpen(endpoint.host, endpoint.port)) {
      this.report(name, 'reused', address);
      return;
    }
    requireLocal(label, endpoint);
    const { service, detail } = await start();
    this.ctx.own(name, service);
    this.report(name, 'started', `${detail}, pid ${service.pid}`);
  }

  private report(name: string, what: 'reused' | 'started', detail: string): void {
    const pid = this.recorded.get(name);
    const origin = what === 'reused' && pid !== undefined ? ` (started earlier from ${this.ctx.dir}, pid ${pid})` : '';
    this.ctx.log(`${name.padEnd(12)} ${what.padEnd(8)} ${detail}${origin}`);
  }
}

function requireLocal(service: string, endpoint: Endpoint): void {
  if (!isLocal(endpoint)) {
    throw new Error(
      `${service} does not answer at ${endpoint.host}:${endpoint.port}, and that is not this machine, so it cannot be started here`,
    );
  }
}
