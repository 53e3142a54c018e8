import { ORDER_SEARCH_ATTRIBUTES } from './temporal-cli';

/** What a `temporal server start-dev` is started with, besides its address. */
export interface TemporalDevServerSettings {
  /** Web UI port; without one the server runs headless. */
  uiPort?: number;
  /** SQLite file so workflows survive a restart; in memory without one. */
  dbFile?: string;
  /** SQLite pragmas for the file; DEV_SERVER_SQLITE_PRAGMAS unless given. */
  sqlitePragmas?: Record<string, string>;
  namespace?: string;
  /** Dynamic config values; DEV_SERVER_DYNAMIC_CONFIG unless given (`{}` runs the CLI's own defaults). */
  dynamicConfig?: DynamicConfig;
  /**
   * The HTTP API's and the metrics endpoint's ports. Always given on the command line: the CLI
   * would pick its own from the ephemeral range, where an outgoing connection can take one before
   * the server binds it (a restart then fails with "address already in use").
   */
  httpPort: number;
  metricsPort: number;
}

export type DynamicConfig = Record<string, string | number | boolean>;

/**
 * The dev server's SQLite file otherwise commits in rollback-journal mode with a full sync, one
 * writer at a time: the file, not the CPU, then caps throughput. Write-ahead logging with normal
 * sync survives a crash of any process (a power cut may lose the last commits, never corrupt the
 * file), which is what a developer's machine needs.
 */
export const DEV_SERVER_SQLITE_PRAGMAS: Record<string, string> = { journal_mode: 'wal', synchronous: 'normal' };

/**
 * The dev server runs one history shard, whose queue readers poll at most 20 times a second by
 * default: every workflow task then waits 25 ms on average before a worker can see it. Raised
 * here for `npm start`, the tests and the benchmark (docs/performance.md has the measurements). A
 * production cluster spreads the load over many shards (and hosts) instead and keeps these near
 * their defaults; see docs/scaling.md.
 */
export const DEV_SERVER_DYNAMIC_CONFIG: DynamicConfig = {
  'history.transferProcessorMaxPollRPS': 1000,
  'history.timerProcessorMaxPollRPS': 1000,
  'history.visibilityProcessorMaxPollRPS': 1000,
};

/** The dev server's command line: its address, storage, namespace, search attributes and dynamic config. */
export function devServerArgs(host: string, port: number, options: TemporalDevServerSettings): string[] {
  const namespace = options.namespace ?? 'default';
  const args = ['server', 'start-dev', '--ip', host, '--port', String(port)];
  args.push('--http-port', String(options.httpPort), '--metrics-port', String(options.metricsPort));
  args.push(...(options.uiPort === undefined ? ['--headless'] : ['--ui-port', String(options.uiPort)]));
  if (options.dbFile !== undefined) {
    args.push('--db-filename', options.dbFile);
    for (const [pragma, value] of Object.entries(options.sqlitePragmas ?? DEV_SERVER_SQLITE_PRAGMAS)) {
      args.push('--sqlite-pragma', `${pragma}=${value}`);
    }
  }
  if (namespace !== 'default') args.push('--namespace', namespace);
  for (const attribute of ORDER_SEARCH_ATTRIBUTES) {
    args.push('--search-attribute', `${attribute.name}=${attribute.type}`);
  }
  for (const [key, value] of Object.entries(options.dynamicConfig ?? DEV_SERVER_DYNAMIC_CONFIG)) {
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }
  args.push('--log-level', 'warn');
  return args;
}
