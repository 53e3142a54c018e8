import path from 'node:path';
import { ensureBinary } from './binaries';
import { dropDatabase, uniqueDatabaseUrl } from './databases';
import type { ManagedProcess } from './managed-process';
import { freePorts } from './ports';
import type { InfraName } from './stack';
import type { ServiceEndpoints, StackContext } from './stack-context';
import { startService } from './start-service';
import { registerSearchAttributes } from './temporal-cli';
import { DEV_SERVER_DYNAMIC_CONFIG } from './temporal-dev-server';
import { startTemporalCluster, type TemporalCluster } from './temporal-cluster/cluster';
import { clusterBinaries, privateClusterLayout, type PrivateClusterLayout } from './temporal-cluster/private-cluster';

/** Every service on a free port under `dir`, started side by side; each can be stopped and started again. */
export class PrivateServices {
  /** Starts one service (again) and owns it; fixed once the ports are. */
  private readonly starters = new Map<InfraName, () => Promise<void>>();
  private cluster: TemporalCluster | undefined;
  private clusterLayout: PrivateClusterLayout | undefined;
  /** A fresh database on the configured PostgreSQL, dropped at stop. */
  private freshDatabase: string | undefined;

  constructor(private readonly ctx: StackContext) {}

  async start(temporalBinary: string): Promise<ServiceEndpoints> {
    const { ctx } = this;
    const { options, log, dir } = ctx;
    const privatePostgres = options.postgres !== 'configured';
    const [natsBinary, stripeBinary] = await Promise.all([
      ensureBinary('nats-server', log),
      ensureBinary('stripe-mock', log),
    ]);
    const [temporalPort, natsPort, postgresPort, stripePort, paymentsPort] = (await freePorts(5)) as [
      number,
      number,
      number,
      number,
      number,
    ];
    const temporalAddress = `127.0.0.1:${temporalPort}`;
    let databaseUrl = `postgres://postgres@127.0.0.1:${postgresPort}/orders`;
    if (!privatePostgres && ctx.config) {
      databaseUrl = uniqueDatabaseUrl(ctx.config.databaseUrl, options.databasePrefix ?? 'orders_test');
      this.freshDatabase = databaseUrl;
      ctx.watchDatabase(databaseUrl);
    }
    const starters: Partial<Record<InfraName, () => Promise<ManagedProcess>>> = {
      temporal: () =>
        options.temporal === 'cluster'
          ? this.startCluster(temporalPort, databaseUrl)
          : this.startDevServer(temporalBinary, temporalPort),
      nats: () =>
        startService('nats', {
          executable: natsBinary,
          port: natsPort,
          storeDir: path.join(dir, 'nats'),
          detached: false,
          logFile: ctx.logFile('nats'),
        }),
      'stripe-mock': () =>
        startService('stripe-mock', {
          executable: stripeBinary,
          port: stripePort,
          detached: false,
          logFile: ctx.logFile('stripe-mock'),
        }),
    };
    if (privatePostgres) {
      starters.postgres = () =>
        startService('postgres', {
          dataDir: path.join(dir, 'postgres'),
          port: postgresPort,
          detached: false,
          logFile: ctx.logFile('postgres'),
        });
    }
    for (const [name, starter] of Object.entries(starters) as Array<[InfraName, () => Promise<ManagedProcess>]>) {
      this.starters.set(name, async () => {
        const service = await starter();
        // The cluster's nodes were each told about as they started.
        if (name !== 'temporal') ctx.watch(name, service.pid);
        ctx.own(name, service);
      });
    }
    // The cluster keeps its state in PostgreSQL: it starts once that answers.
    if (options.temporal === 'cluster' && privatePostgres) await this.starters.get('postgres')?.();
    const outcomes = await Promise.allSettled(
      [...this.starters].filter(([name]) => !ctx.owns(name)).map(([, start]) => start()),
    );
    // All settled first, so whatever did start is owned and stopped again.
    for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
    const postgresAt = privatePostgres ? `127.0.0.1:${postgresPort}` : new URL(databaseUrl).host;
    log(
      `Temporal ${temporalAddress} (${options.temporal}), NATS nats://127.0.0.1:${natsPort}, ` +
        `PostgreSQL ${postgresAt}${new URL(databaseUrl).pathname}, stripe-mock http://127.0.0.1:${stripePort}, folder ${dir}`,
    );
    return {
      temporalAddress,
      natsUrl: `nats://127.0.0.1:${natsPort}`,
      databaseUrl,
      stripeApiBase: `http://127.0.0.1:${stripePort}`,
      paymentsUrl: `http://127.0.0.1:${paymentsPort}`,
    };
  }

  /** Whether `name` is one of the services started here, which can be started again. */
  canStartAgain(name: InfraName): boolean {
    return this.starters.has(name);
  }

  /** Starts a stopped service again on the same port and data. */
  async startAgain(name: InfraName): Promise<void> {
    await this.starters.get(name)?.();
  }

  temporalCluster(): TemporalCluster | undefined {
    return this.ctx.owns('temporal') ? this.cluster : undefined;
  }

  /** Starts, in `order`, the services that are not running, then the cluster nodes that are not; returns what it started. */
  async heal(order: readonly InfraName[]): Promise<string[]> {
    const restarted: string[] = [];
    for (const name of order) {
      if (!this.ctx.owns(name) && this.starters.has(name)) {
        await this.starters.get(name)?.();
        restarted.push(name);
      }
    }
    const cluster = this.temporalCluster();
    for (const node of cluster?.nodes ?? []) {
      if (cluster?.isRunning(node.name)) continue;
      await cluster?.stopNode(node.name);
      await cluster?.startNode(node.name);
      restarted.push(`temporal ${node.name}`);
    }
    return restarted;
  }

  /** At stop, once the services are: the databases made on the configured PostgreSQL. */
  async dropDatabases(): Promise<void> {
    const { clusterLayout, freshDatabase } = this;
    if (clusterLayout && this.ctx.options.postgres === 'configured') {
      await this.ctx.attempt('the cluster databases', () => clusterLayout.dropDatabases());
    }
    if (freshDatabase) {
      await this.ctx.attempt('the database', async () => {
        await dropDatabase(freshDatabase);
        this.ctx.forgetDatabase(freshDatabase);
      });
    }
  }

  private async startCluster(frontendPort: number, postgresUrl: string): Promise<ManagedProcess> {
    const { options, log, dir } = this.ctx;
    // Fixed once, so a restart gets the same cluster back (same ports, same databases).
    this.clusterLayout ??= await privateClusterLayout({
      postgresUrl,
      databasePrefix: `temporal_${options.databasePrefix ?? 'stack'}`,
      historyHosts: options.historyHosts,
    });
    const cluster = await startTemporalCluster({
      binaries: await clusterBinaries(log, false),
      dir: path.join(dir, 'temporal-cluster'),
      logDir: path.join(dir, 'logs'),
      frontendPort,
      settings: this.clusterLayout.settings,
      namespace: 'default',
      retentionDays: 1,
      detached: false,
      readyTimeoutMs: options.temporalReadyTimeoutMs ?? 120_000,
      onStarted: (service) => this.ctx.watch('temporal', service.pid),
      onStopped: (service) => this.ctx.forget(service.pid),
      log,
    });
    this.cluster = cluster;
    const frontend = cluster.processes().find((service) => service.name === 'temporal-frontend');
    return { name: 'temporal', pid: frontend?.pid ?? 0, stop: () => cluster.stop() };
  }

  private async startDevServer(temporalBinary: string, port: number): Promise<ManagedProcess> {
    const { options } = this.ctx;
    const service = await startService('temporal', {
      executable: temporalBinary,
      port,
      dbFile: options.temporal === 'file' ? path.join(this.ctx.dir, 'temporal.db') : undefined,
      detached: false,
      logFile: this.ctx.logFile('temporal'),
      readyTimeoutMs: options.temporalReadyTimeoutMs,
      // Untuned: the Temporal CLI's own dynamic config and SQLite settings.
      ...(options.untuned ? { dynamicConfig: {}, sqlitePragmas: {} } : {}),
      ...(options.dynamicConfig && Object.keys(options.dynamicConfig).length > 0
        ? {
            dynamicConfig: {
              ...(options.untuned ? {} : DEV_SERVER_DYNAMIC_CONFIG),
              ...options.dynamicConfig,
            },
          }
        : {}),
    });
    this.ctx.watch('temporal', service.pid);
    // The start flag registers them on a new server; registering again proves it is idempotent.
    await registerSearchAttributes(temporalBinary, `127.0.0.1:${port}`).catch(async (error: unknown) => {
      await service.stop();
      throw error;
    });
    return service;
  }
}
