import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { TemporalClusterSettings } from '../config';
import { signalGroup, startAppProcess, type AppProcess } from '../infra/app-process';
import { ensureBinary } from '../infra/binaries';
import { REPO_ROOT } from '../infra/data-dir';
import { exitedEarlyError, spawnService, type ManagedProcess, type SpawnedService } from '../infra/managed-process';
import { waitUntil } from '../infra/ports';
import { findPostgres, preparePostgresDataDir } from '../infra/postgres-setup';
import { startService } from '../infra/start-service';
import { startTemporalCluster, type TemporalCluster } from '../infra/temporal-cluster/cluster';
import { clusterBinaries } from '../infra/temporal-cluster/private-cluster';
import type { ClusterNode } from '../infra/temporal-cluster/topology';
import { hostNamed, hostsOfKind, natsRoutes, PORTS, type BedPlan, type PlannedHost } from './topology';

/**
 * Every process of the bed, each started in its host's namespace with the project's own launchers
 * (the service table for NATS, PostgreSQL and stripe-mock; the Temporal cluster launcher with one
 * host per node; the app launcher for the service's processes), and each of them stoppable,
 * killable and restartable by host.
 */

/** The service's processes: the host they run on and their entry point. */
export const APP_SCRIPTS = {
  products: 'src/products/main.ts',
  payments: 'src/payments/main.ts',
  worker: 'src/worker.ts',
  gateway: 'src/gateway/main.ts',
} as const;

export interface BedProcessOptions {
  plan: BedPlan;
  dir: string;
  /** The apps' environment (endpoints, secrets); each gets its own copy. */
  appEnv: NodeJS.ProcessEnv;
  log: (line: string) => void;
  /** Told about each process group started and gone (the reaper). */
  onStarted: (pid: number) => void;
  onStopped: (pid: number) => void;
}

/** The Temporal node each of the cluster's processes is, by host. */
export function temporalHostOf(node: ClusterNode): string {
  if (node.service === 'history') return node.name;
  if (node.service === 'worker') return 'matching';
  return node.service;
}

export function temporalSettings(plan: BedPlan): TemporalClusterSettings {
  return {
    historyShards: 4,
    historyHosts: hostsOfKind(plan, 'temporal-history').length,
    databaseUrl: `postgres://postgres@${hostNamed(plan, 'postgres').address}:${PORTS.postgres}/temporal`,
    visibilityDatabase: 'temporal_visibility',
    ports: {
      frontendHttp: PORTS.temporalFrontendHttp,
      frontendMembership: PORTS.temporalFrontendMembership,
      history: PORTS.temporalHistory,
      historyMembership: PORTS.temporalHistoryMembership,
      matching: PORTS.temporalMatching,
      matchingMembership: PORTS.temporalMatchingMembership,
      worker: PORTS.temporalWorker,
      workerMembership: PORTS.temporalWorkerMembership,
      ui: 0,
    },
  };
}

export class BedProcesses {
  private readonly services = new Map<string, SpawnedService>();
  private readonly apps = new Map<string, AppProcess>();
  private cluster: TemporalCluster | undefined;
  private readonly log: (line: string) => void;

  constructor(private readonly options: BedProcessOptions) {
    this.log = options.log;
  }

  logFile(name: string): string {
    return path.join(this.options.dir, 'logs', `${name}.log`);
  }

  temporal(): TemporalCluster {
    if (!this.cluster) throw new Error('the Temporal cluster is not running');
    return this.cluster;
  }

  /** NATS ×3 and PostgreSQL side by side, then the Temporal cluster on it, then stripe-mock. */
  async startInfrastructure(): Promise<void> {
    const { plan } = this.options;
    await Promise.all([
      ...hostsOfKind(plan, 'nats').map((host) => this.startNats(host)),
      this.startPostgres(),
      this.startStripeMock(),
    ]);
    await this.startTemporal();
  }

  async startNats(host: PlannedHost): Promise<void> {
    const service = await startService('nats', {
      executable: await ensureBinary('nats-server', this.log),
      host: host.address,
      port: PORTS.nats,
      storeDir: path.join(this.options.dir, host.name),
      cluster: {
        serverName: host.name,
        clusterName: 'orders-hosts',
        clusterPort: PORTS.natsCluster,
        routes: natsRoutes(this.options.plan),
      },
      netns: host.netns,
      detached: false,
      logFile: this.logFile(host.name),
    });
    this.own(host.name, service);
  }

  private async startPostgres(): Promise<void> {
    const host = hostNamed(this.options.plan, 'postgres');
    const dataDir = path.join(this.options.dir, 'postgres');
    const postgres = await findPostgres();
    const fresh = !existsSync(path.join(dataDir, 'PG_VERSION'));
    await preparePostgresDataDir(postgres, dataDir, this.logFile('postgres'));
    if (fresh) {
      // initdb trusts only 127.0.0.1: every host of the bed's subnet connects as postgres, and the
      // Temporal nodes alone may hold 125 connections.
      const subnet = `${this.options.plan.gateway}/${this.options.plan.prefixLength}`;
      appendFileSync(path.join(dataDir, 'pg_hba.conf'), `host all all ${subnet} trust\n`);
      appendFileSync(path.join(dataDir, 'postgresql.conf'), 'max_connections = 300\n');
    }
    await this.startPostgresProcess(host, dataDir);
  }

  private async startPostgresProcess(host: PlannedHost, dataDir: string): Promise<void> {
    const service = await startService('postgres', {
      dataDir,
      host: host.address,
      port: PORTS.postgres,
      netns: host.netns,
      detached: false,
      logFile: this.logFile('postgres'),
    });
    this.own('postgres', service);
  }

  private async startStripeMock(): Promise<void> {
    const host = hostNamed(this.options.plan, 'payments');
    const service = await startService('stripe-mock', {
      executable: await ensureBinary('stripe-mock', this.log),
      host: host.address,
      port: PORTS.stripeMock,
      httpsPort: PORTS.stripeMockHttps,
      netns: host.netns,
      detached: false,
      logFile: this.logFile('stripe-mock'),
    });
    this.own('stripe-mock', service);
  }

  private async startTemporal(): Promise<void> {
    const { plan, dir } = this.options;
    this.cluster = await startTemporalCluster({
      binaries: await clusterBinaries(this.log, false),
      dir: path.join(dir, 'temporal-cluster'),
      logDir: path.join(dir, 'logs'),
      hostOf: (node) => hostNamed(plan, temporalHostOf(node)).address,
      netnsOf: (node) => hostNamed(plan, temporalHostOf(node)).netns,
      frontendPort: PORTS.temporalFrontend,
      settings: temporalSettings(plan),
      namespace: 'default',
      retentionDays: 1,
      detached: false,
      readyTimeoutMs: 180_000,
      onStarted: (service) => this.options.onStarted(service.pid),
      onStopped: (service) => this.options.onStopped(service.pid),
      log: this.log,
    });
  }

  /** The service's processes, callees first: products and payments, then the workers, then the gateways. */
  async startApps(): Promise<void> {
    const { plan } = this.options;
    await Promise.all(['products', 'payments'].map((name) => this.startApp(name)));
    await Promise.all(hostsOfKind(plan, 'worker').map((host) => this.startApp(host.name)));
    await Promise.all(hostsOfKind(plan, 'gateway').map((host) => this.startApp(host.name)));
  }

  /** One app on its host (`worker-2` runs the worker's entry point on host worker-2). */
  async startApp(hostName: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<void> {
    const host = hostNamed(this.options.plan, hostName);
    if (this.apps.has(hostName)) throw new Error(`${hostName} is already running`);
    const script = host.kind === 'load' ? 'dev/hosts/load-host.ts' : APP_SCRIPTS[host.kind as keyof typeof APP_SCRIPTS];
    if (!script) throw new Error(`host ${hostName} runs no app`);
    const compiled = host.kind !== 'load';
    const child = startAppProcess({
      name: hostName,
      script,
      runtime: compiled ? 'compiled' : 'tsx',
      cwd: REPO_ROOT,
      env: { ...this.options.appEnv, ...extraEnv },
      readyTimeoutMs: 180_000,
      logFile: this.logFile(hostName),
      netns: host.netns,
    });
    this.apps.set(hostName, child);
    this.options.onStarted(child.pid);
    try {
      await child.ready;
    } catch (error) {
      await this.stopApp(hostName);
      throw error;
    }
  }

  async stopApp(hostName: string): Promise<void> {
    const child = this.apps.get(hostName);
    if (!child) return;
    await child.stop();
    this.apps.delete(hostName);
    this.options.onStopped(child.pid);
  }

  /** `kill -9` of everything running on the host, as when the machine dies. */
  async killHost(hostName: string): Promise<void> {
    const child = this.apps.get(hostName);
    if (child) {
      signalGroup(child.pid, 'SIGKILL');
      await child.exited;
      this.apps.delete(hostName);
      this.options.onStopped(child.pid);
    }
    const service = this.services.get(hostName);
    if (service) {
      signalGroup(service.pid, 'SIGKILL');
      await service.exited;
      this.services.delete(hostName);
      this.options.onStopped(service.pid);
    }
  }

  /**
   * Starts again whatever died on its own (an app, a NATS server, a Temporal node), so one
   * scenario's casualty does not become the next one's fault; returns their names for the log.
   */
  async restartExited(): Promise<string[]> {
    const restarted: string[] = [];
    for (const [name, child] of [...this.apps]) {
      if (child.exitStatus() === undefined) continue;
      this.apps.delete(name);
      this.options.onStopped(child.pid);
      await this.startApp(name);
      restarted.push(name);
    }
    for (const [name, service] of [...this.services]) {
      if (service.exitStatus() === undefined || !name.startsWith('nats-')) continue;
      this.services.delete(name);
      this.options.onStopped(service.pid);
      await this.startNats(hostNamed(this.options.plan, name));
      restarted.push(name);
    }
    const cluster = this.cluster;
    for (const node of cluster?.nodes ?? []) {
      if (!cluster || cluster.isRunning(node.name)) continue;
      await cluster.stopNode(node.name);
      await cluster.startNode(node.name);
      restarted.push(`temporal ${node.name}`);
    }
    return restarted;
  }

  /**
   * delay-queue.py in the host's namespace, holding its queued packets `delayMs` and dropping
   * `lossPercent` of them; resolves once it listens. Stopped by `stopDelayQueues`.
   */
  async startDelayQueue(host: PlannedHost, queue: number, delayMs: number, lossPercent: number): Promise<void> {
    const name = `delay-${host.name}`;
    const logFile = this.logFile(name);
    const service = await spawnService({
      name,
      command: 'python3',
      args: [path.join(__dirname, 'delay-queue.py'), String(queue), String(delayMs), String(lossPercent)],
      logFile,
      detached: false,
      netns: host.netns,
    });
    this.own(name, service);
    const listening = (): Promise<boolean> =>
      Promise.resolve(existsSync(logFile) && readFileSync(logFile, 'utf8').includes('ready'));
    await waitUntil(listening, {
      timeoutMs: 10_000,
      description: `${name} to listen`,
      abort: () => exitedEarlyError(service),
    });
  }

  async stopDelayQueues(): Promise<void> {
    for (const [name, service] of [...this.services]) {
      if (!name.startsWith('delay-')) continue;
      await service.stop();
      this.services.delete(name);
      this.options.onStopped(service.pid);
    }
  }

  isRunning(name: string): boolean {
    const process = this.apps.get(name) ?? this.services.get(name);
    return process !== undefined && process.exitStatus() === undefined;
  }

  /** Every process the bed started and still runs (not the Temporal nodes: `temporal().processes()`). */
  running(): ManagedProcess[] {
    return [...this.apps.values(), ...this.services.values()];
  }

  /** Callers first: the load and the apps newest first, then Temporal, then the infrastructure. */
  async stopAll(): Promise<void> {
    const attempt = async (what: string, step: () => Promise<void>): Promise<void> => {
      await step().catch((error: unknown) => this.log(`stopping ${what} failed: ${(error as Error).message}`));
    };
    for (const name of [...this.apps.keys()].reverse()) await attempt(name, () => this.stopApp(name));
    if (this.cluster) await attempt('temporal', () => this.temporal().stop());
    for (const [name, service] of [...this.services].reverse()) {
      await attempt(name, () => service.stop());
      this.services.delete(name);
      this.options.onStopped(service.pid);
    }
  }

  private own(name: string, service: SpawnedService): void {
    this.services.set(name, service);
    this.options.onStarted(service.pid);
  }
}
