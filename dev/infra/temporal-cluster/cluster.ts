import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TemporalClusterSettings } from '../../config';
import { exitedEarlyError, spawnService, type ManagedProcess, type SpawnedService } from '../managed-process';
import { waitForPort } from '../ports';
import { startService } from '../start-service';
import { ensureNamespace, registerSearchAttributes, waitForFrontend, waitForNamespace } from '../temporal-cli';
import { ensureClusterSchemas, persistenceFromUrl, type SchemaOutcome } from './schema';
import { renderDynamicConfig, renderServerConfig } from './server-config';
import { clusterNodes, clusterPorts, type ClusterNode } from './topology';

export interface TemporalClusterBinaries {
  server: string;
  sqlTool: string;
  /** The Temporal CLI: readiness, namespace and search attributes. */
  cli: string;
  /** The standalone Web UI; without it (or without `uiPort`) none runs. */
  ui?: string;
}

export interface TemporalClusterOptions {
  binaries: TemporalClusterBinaries;
  /** Rendered configuration files go to `<dir>/config`. */
  dir: string;
  /** `temporal-<node>.log` for each process. */
  logDir: string;
  host?: string;
  /** Each node's own address, when the nodes run on separate hosts (dev/hosts/); `host` otherwise. */
  hostOf?: (node: ClusterNode) => string;
  /** The network namespace a node runs in (`ip netns exec`), when it has one. */
  netnsOf?: (node: ClusterNode) => string | undefined;
  /** The frontend's gRPC port: what TEMPORAL_ADDRESS names. */
  frontendPort: number;
  settings: TemporalClusterSettings;
  namespace: string;
  retentionDays: number;
  /** Web UI port; none runs without one. */
  uiPort?: number;
  detached: boolean;
  readyTimeoutMs?: number;
  /** Told about every process started or stopped here, including restarts (pid files, a reaper). */
  onStarted?: (service: ManagedProcess) => void;
  onStopped?: (service: ManagedProcess) => void;
  log?: (line: string) => void;
}

export interface TemporalCluster {
  address: string;
  uiUrl?: string;
  nodes: ClusterNode[];
  settings: TemporalClusterSettings;
  schemas: SchemaOutcome[];
  namespace: 'created' | 'updated';
  /** The processes running now, one per node (and the UI), named `temporal-<node>`. */
  processes(): ManagedProcess[];
  /** Starts a stopped node again, with the same ports and configuration. */
  startNode(name: string): Promise<void>;
  /** SIGTERM, and waits for it to exit. */
  stopNode(name: string): Promise<void>;
  /** `kill -9`: the node gets no chance to hand its shards over. */
  killNode(name: string): Promise<void>;
  isRunning(name: string): boolean;
  /** Stops every process, UI first and history last. */
  stop(): Promise<void>;
}

/**
 * A Temporal cluster of separate processes on one PostgreSQL server: the databases and schemas
 * (created or upgraded), then `server start --service …` for each node of the topology, then the
 * namespace (with its retention), the search attributes and the Web UI.
 */
export async function startTemporalCluster(options: TemporalClusterOptions): Promise<TemporalCluster> {
  const host = options.host ?? '127.0.0.1';
  const hostOf = options.hostOf ?? (() => host);
  const log = options.log ?? (() => undefined);
  const timeoutMs = options.readyTimeoutMs ?? 120_000;
  const { settings } = options;
  const nodes = clusterNodes({
    frontendPort: options.frontendPort,
    ports: settings.ports,
    historyHosts: settings.historyHosts,
  });
  const ports = [...clusterPorts(nodes), ...(options.uiPort ? [options.uiPort] : [])];
  const clash = ports.find((port, i) => ports.indexOf(port) !== i);
  if (clash !== undefined) throw new Error(`Temporal cluster: port ${clash} is given to two services`);

  const persistence = persistenceFromUrl(settings.databaseUrl, settings.visibilityDatabase);
  const schemas = await ensureClusterSchemas(options.binaries.sqlTool, persistence);

  const configDir = path.join(options.dir, 'config');
  mkdirSync(configDir, { recursive: true });
  const dynamicConfigFile = path.join(options.dir, 'dynamic-config.yaml');
  writeFileSync(dynamicConfigFile, renderDynamicConfig());
  for (const node of nodes) {
    const yaml = renderServerConfig({
      node,
      nodes,
      host,
      hostOf,
      historyShards: settings.historyShards,
      persistence,
      dynamicConfigFile,
    });
    writeFileSync(path.join(configDir, `${node.name}.yaml`), yaml);
  }

  const running = new Map<string, SpawnedService>();
  const frontendNode = nodes.find((n) => n.service === 'frontend');
  const address = `${frontendNode ? hostOf(frontendNode) : host}:${options.frontendPort}`;
  const target = { address, namespace: options.namespace };

  const startNode = async (name: string): Promise<void> => {
    const node = nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no Temporal node named ${name}; nodes: ${nodes.map((n) => n.name).join(', ')}`);
    if (running.has(name)) throw new Error(`Temporal ${name} is already running`);
    const service = await spawnService({
      name: `temporal-${name}`,
      command: options.binaries.server,
      args: [
        '--root',
        options.dir,
        '--config',
        'config',
        '--env',
        name,
        '--allow-no-auth',
        'start',
        '--service',
        node.service,
      ],
      logFile: path.join(options.logDir, `temporal-${name}.log`),
      detached: options.detached,
      netns: options.netnsOf?.(node),
    });
    running.set(name, service);
    options.onStarted?.(service);
    try {
      const abort = (): Error | undefined => exitedEarlyError(service);
      // The internal worker service serves no gRPC; its membership port says it has joined.
      await waitForPort(
        hostOf(node),
        node.service === 'worker' ? node.membershipPort : node.grpcPort,
        timeoutMs,
        abort,
      );
      if (node.service === 'frontend') await waitForFrontend(options.binaries.cli, { address }, timeoutMs, abort);
    } catch (error) {
      await stopNode(name);
      throw error;
    }
  };
  const stopNode = async (name: string): Promise<void> => {
    const service = running.get(name);
    if (!service) return;
    await service.stop();
    running.delete(name);
    options.onStopped?.(service);
  };
  const killNode = async (name: string): Promise<void> => {
    const service = running.get(name);
    if (!service) throw new Error(`Temporal ${name} is not running`);
    process.kill(service.pid, 'SIGKILL');
    await service.exited;
    running.delete(name);
    options.onStopped?.(service);
  };
  let ui: SpawnedService | undefined;
  const stop = async (): Promise<void> => {
    if (ui) {
      await ui.stop();
      options.onStopped?.(ui);
      ui = undefined;
    }
    // Clients of the cluster first, the shards' owners last.
    for (const node of [...nodes].reverse()) await stopNode(node.name);
  };

  try {
    // The first process writes the cluster's metadata into a new database; processes starting at
    // the same moment would all try to and fail, so the others follow once it is up.
    const [first, ...others] = nodes as [ClusterNode, ...ClusterNode[]];
    await startNode(first.name);
    const outcomes = await Promise.allSettled(others.map((node) => startNode(node.name)));
    for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
    log(
      `temporal     cluster of ${nodes.map((n) => `${n.name} :${n.grpcPort}`).join(', ')}; ${settings.historyShards} history shards`,
    );
    const namespace = await ensureNamespace(options.binaries.cli, target, options.retentionDays);
    await waitForNamespace(options.binaries.cli, target, timeoutMs);
    await registerSearchAttributes(options.binaries.cli, address, { namespace: options.namespace });
    if (options.binaries.ui && options.uiPort) {
      ui = await startService('temporal-ui', {
        executable: options.binaries.ui,
        configRoot: options.dir,
        host,
        port: options.uiPort,
        temporalAddress: address,
        namespace: options.namespace,
        logFile: path.join(options.logDir, 'temporal-ui.log'),
        detached: options.detached,
        readyTimeoutMs: timeoutMs,
      });
      options.onStarted?.(ui);
    }
    return {
      address,
      uiUrl: options.uiPort && options.binaries.ui ? `http://localhost:${options.uiPort}` : undefined,
      nodes,
      settings,
      schemas,
      namespace,
      processes: () => [...running.values(), ...(ui ? [ui] : [])],
      startNode,
      stopNode,
      killNode,
      isRunning: (name) => running.has(name) && running.get(name)?.exitStatus() === undefined,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
