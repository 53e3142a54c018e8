import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BinaryName } from './binaries';
import { freePort, freePorts, waitForPort, waitUntil } from './ports';
import { answersQueries, findPostgres, preparePostgresDataDir, type RunAs } from './postgres-setup';
import { waitForTemporal } from './temporal-cli';
import { devServerArgs, type TemporalDevServerSettings } from './temporal-dev-server';
import { renderUiConfig } from './temporal-cluster/server-config';

/** What every service is started with. */
export interface CommonStartOptions {
  port: number;
  /** 127.0.0.1 unless given. */
  host?: string;
  /** stdout and stderr are appended here. */
  logFile: string;
  /** Survive this process exiting (`npm start`, `npm run infra`), or go with it (tests). */
  detached: boolean;
  readyTimeoutMs?: number;
  /** The executable when the caller already has it; otherwise found (or built) as the table says. */
  executable?: string;
  /** Told about a build of the executable, which takes minutes the first time. */
  log?: (line: string) => void;
  /** Run inside this network namespace, bound to `host` there (the multi-host test bed, dev/hosts/). */
  netns?: string;
}

/** One node of a NATS cluster: its name and the routes to its peers (all of them, itself included). */
export interface NatsClusterNode {
  serverName: string;
  clusterName: string;
  clusterPort: number;
  routes: string[];
}

/** Each service's options: the common ones and its own. */
export interface ServiceStartOptions {
  /** `temporal server start-dev`. */
  temporal: CommonStartOptions & Omit<TemporalDevServerSettings, 'httpPort' | 'metricsPort'>;
  /** nats-server with JetStream; `storeDir` keeps streams (unacknowledged payment events) across restarts. */
  nats: CommonStartOptions & { storeDir: string; cluster?: NatsClusterNode };
  /** A private PostgreSQL cluster in `dataDir` (initdb on first use). */
  postgres: CommonStartOptions & { dataDir: string };
  /** Stripe's API simulator; it always serves HTTPS too (on 12112 unless told): a free port by default. */
  'stripe-mock': CommonStartOptions & { httpsPort?: number };
  /** The standalone Temporal Web UI of a cluster; its configuration goes to `<configRoot>/ui-config/ui.yaml`. */
  'temporal-ui': CommonStartOptions & { configRoot: string; temporalAddress: string; namespace: string };
}

export type ServiceName = keyof ServiceStartOptions;

/** Options with their defaults applied. */
type Resolved<O extends CommonStartOptions> = O & { host: string };

/** How to run one service: one row of the table. */
export interface ServiceSpec<O extends CommonStartOptions> {
  /** Where its executable comes from: a Go binary of dev/infra/binaries.ts, or a search. */
  executable: BinaryName | (() => Promise<string>);
  /** Work before each start (folders, files, initdb); may name the user to run as. */
  prepare?(options: Resolved<O>, executable: string): Promise<RunAs | undefined> | void;
  /** Its command line, from its ports and folders. */
  args(options: Resolved<O>): Promise<string[]> | string[];
  /** Resolves once it serves requests; `abort` says when the process died, so waiting stops early. */
  ready(options: Resolved<O>, executable: string, timeoutMs: number, abort: () => Error | undefined): Promise<void>;
  readyTimeoutMs: number;
  /** How it stops quickly and cleanly; SIGTERM unless given. */
  stopSignal?: NodeJS.Signals;
}

/**
 * The services development and the tests start on this machine. `startService` (start-service.ts)
 * runs a row; the name is also the process's name in logs and pid files.
 */
export const SERVICE_TABLE: { [N in ServiceName]: ServiceSpec<ServiceStartOptions[N]> } = {
  temporal: {
    executable: 'temporal',
    args: async (o) => {
      const [httpPort, metricsPort] = (await freePorts(2, o.host)) as [number, number];
      return devServerArgs(o.host, o.port, { ...o, httpPort, metricsPort });
    },
    ready: async (o, cli, timeoutMs, abort) => {
      await waitForPort(o.host, o.port, timeoutMs, abort);
      // An open port may still be a server starting up: wait until it answers for the namespace.
      await waitForTemporal(
        cli,
        { address: `${o.host}:${o.port}`, namespace: o.namespace ?? 'default' },
        timeoutMs,
        abort,
      );
    },
    readyTimeoutMs: 60_000,
  },
  nats: {
    executable: 'nats-server',
    prepare: (o) => {
      mkdirSync(o.storeDir, { recursive: true });
    },
    args: (o) => [
      '-a',
      o.host,
      '-p',
      String(o.port),
      '-js',
      '-sd',
      o.storeDir,
      ...(o.cluster
        ? [
            '--server_name',
            o.cluster.serverName,
            '--cluster_name',
            o.cluster.clusterName,
            '--cluster',
            `nats://${o.host}:${o.cluster.clusterPort}`,
            '--routes',
            o.cluster.routes.join(','),
          ]
        : []),
    ],
    ready: (o, _executable, timeoutMs, abort) => waitForPort(o.host, o.port, timeoutMs, abort),
    readyTimeoutMs: 30_000,
  },
  postgres: {
    executable: findPostgres,
    prepare: (o, postgres) => preparePostgresDataDir(postgres, o.dataDir, o.logFile),
    // TCP only: a socket path under a deep data folder can exceed the OS limit.
    args: (o) => [
      '-D',
      o.dataDir,
      '-p',
      String(o.port),
      '-c',
      `listen_addresses=${o.host}`,
      '-c',
      'unix_socket_directories=',
    ],
    ready: async (o, _executable, timeoutMs, abort) => {
      await waitForPort(o.host, o.port, timeoutMs, abort);
      // The port opens while the server is still starting up and refusing connections.
      await waitUntil(() => answersQueries(o.host, o.port), {
        timeoutMs,
        intervalMs: 200,
        description: `PostgreSQL at ${o.host}:${o.port}`,
        abort,
      });
    },
    readyTimeoutMs: 60_000,
    // PostgreSQL's fast shutdown; SIGTERM would wait for every client to leave.
    stopSignal: 'SIGINT',
  },
  'stripe-mock': {
    executable: 'stripe-mock',
    args: async (o) => [
      '-http-addr',
      `${o.host}:${o.port}`,
      '-https-addr',
      `${o.host}:${o.httpsPort ?? (await freePort(o.host))}`,
    ],
    ready: (o, _executable, timeoutMs, abort) => waitForPort(o.host, o.port, timeoutMs, abort),
    readyTimeoutMs: 30_000,
  },
  'temporal-ui': {
    executable: 'temporal-ui-server',
    prepare: (o) => {
      const configDir = path.join(o.configRoot, 'ui-config');
      mkdirSync(configDir, { recursive: true });
      const config = renderUiConfig({
        host: o.host,
        port: o.port,
        temporalAddress: o.temporalAddress,
        namespace: o.namespace,
      });
      writeFileSync(path.join(configDir, 'ui.yaml'), config);
    },
    args: (o) => ['--root', o.configRoot, '--config', 'ui-config', '--env', 'ui', 'start'],
    ready: (o, _executable, timeoutMs, abort) => waitForPort(o.host, o.port, timeoutMs, abort),
    readyTimeoutMs: 120_000,
  },
};
