import path from 'node:path';
import type { Config } from '../../../src/config';
import { parseDevConfig, type DevConfig } from '../../config';
import { ensureBinary } from '../binaries';
import type { ManagedProcess } from '../managed-process';
import { startTemporalCluster } from './cluster';

export interface StartHereOptions {
  dataDir: string;
  temporalBinary: string;
  host: string;
  port: number;
  uiPort: number;
  log: (line: string) => void;
  /** Records a process this run started (pid file, stopped on Ctrl-C). */
  track: (service: ManagedProcess) => void;
  /** The cluster's settings (dev/config.ts); read from the environment when not given. */
  dev?: DevConfig;
}

/**
 * `npm start -- --cluster` (TEMPORAL_LOCAL_SERVER=cluster): builds what is missing, then starts the
 * cluster in the data folder, detached like every service `npm start` runs, one pid file a process.
 */
export async function startClusterHere(config: Config, options: StartHereOptions): Promise<void> {
  const { log } = options;
  const { cluster: settings, retentionDays } = (options.dev ?? parseDevConfig(process.env, config)).temporal;
  const [server, sqlTool, ui] = [
    await ensureBinary('temporal-server', log),
    await ensureBinary('temporal-sql-tool', log),
    await ensureBinary('temporal-ui-server', log),
  ];
  const cluster = await startTemporalCluster({
    binaries: { server, sqlTool, ui, cli: options.temporalBinary },
    dir: path.join(options.dataDir, 'temporal-cluster'),
    logDir: path.join(options.dataDir, 'logs'),
    host: options.host,
    frontendPort: options.port,
    settings,
    namespace: config.temporal.namespace,
    retentionDays,
    uiPort: options.uiPort,
    detached: true,
    onStarted: options.track,
    log,
  });
  const db = new URL(settings.databaseUrl);
  for (const schema of cluster.schemas) {
    log(
      `${'temporal-db'.padEnd(12)} ${schema.created ? 'created ' : 'reused  '} ${schema.database} on ${db.host}, schema up to date`,
    );
  }
  for (const node of cluster.nodes) {
    const pid = cluster.processes().find((p) => p.name === `temporal-${node.name}`)?.pid;
    log(
      `${node.name.padEnd(12)} started  ${options.host}:${node.grpcPort} (${node.service}, membership :${node.membershipPort}), pid ${pid}`,
    );
  }
  log(
    `${'namespace'.padEnd(12)} ${cluster.namespace} ${config.temporal.namespace}, retention ${retentionDays} days; ` +
      `Web UI ${cluster.uiUrl}`,
  );
}
