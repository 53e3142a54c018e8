import type { ClusterNode } from './topology';

/** Where the cluster keeps its state: two databases on one PostgreSQL server. */
export interface ClusterPersistence {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  visibilityDatabase: string;
}

export interface ServerConfigInput {
  /** The process this file is for: its own service gets its own ports. */
  node: ClusterNode;
  /** All nodes: the other services' entries name their ports (one per service; history's first host). */
  nodes: ClusterNode[];
  host: string;
  /** Each node's own address when the nodes run on separate hosts; `host` for all otherwise. */
  hostOf?: (node: ClusterNode) => string;
  historyShards: number;
  persistence: ClusterPersistence;
  dynamicConfigFile: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

/**
 * Dynamic config of the local cluster. Search attributes registered with the CLI are seen at once
 * (as on the dev server) instead of after the cache's refresh; everything else keeps Temporal's
 * defaults, which are the ones a production cluster starts from (docs/scaling.md).
 */
export const CLUSTER_DYNAMIC_CONFIG: Record<string, string | number | boolean> = {
  'system.forceSearchAttributesCacheRefreshOnRead': true,
};

/**
 * The server's YAML for one node (`server --config <dir> --env <node> start --service <service>`),
 * in the shape of the module's config/development-postgres12.yaml. Values are quoted JSON strings,
 * which YAML reads as they are.
 */
export function renderServerConfig(input: ServerConfigInput): string {
  const { node, persistence: db } = input;
  const hostOf = input.hostOf ?? (() => input.host);
  const host = hostOf(node);
  const q = (value: string | number): string => JSON.stringify(String(value));
  const frontend = input.nodes.find((n) => n.service === 'frontend');
  if (!frontend) throw new Error('a cluster needs a frontend node');
  const frontendHost = hostOf(frontend);
  const services = (['frontend', 'history', 'matching', 'worker'] as const).map((service) => {
    const own = node.service === service ? node : input.nodes.find((n) => n.service === service);
    if (!own) throw new Error(`a cluster needs a ${service} node`);
    return [
      `  ${service}:`,
      '    rpc:',
      `      grpcPort: ${own.grpcPort}`,
      `      membershipPort: ${own.membershipPort}`,
      `      bindOnIP: ${q(hostOf(own))}`,
      ...(own.httpPort ? [`      httpPort: ${own.httpPort}`] : []),
    ].join('\n');
  });
  const datastore = (database: string, maxConns: number): string =>
    [
      '      sql:',
      '        pluginName: "postgres12"',
      `        databaseName: ${q(database)}`,
      `        connectAddr: ${q(`${db.host}:${db.port}`)}`,
      '        connectProtocol: "tcp"',
      `        user: ${q(db.user)}`,
      `        password: ${q(db.password)}`,
      `        maxConns: ${maxConns}`,
      `        maxIdleConns: ${maxConns}`,
      '        maxConnLifetime: "1h"',
    ].join('\n');

  return `# Rendered by dev/infra/temporal-cluster/server-config.ts for ${node.name}; edits are overwritten.
log:
  stdout: true
  level: ${q(input.logLevel ?? 'warn')}

persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  # Fixed when the database is created: a different count needs a new database (docs/scaling.md).
  numHistoryShards: ${input.historyShards}
  datastores:
    postgres-default:
${datastore(db.database, 20)}
    postgres-visibility:
${datastore(db.visibilityDatabase, 5)}

global:
  membership:
    maxJoinDuration: "30s"
    broadcastAddress: ${q(host)}

services:
${services.join('\n\n')}

clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: ${q(`${frontendHost}:${frontend.grpcPort}`)}

dcRedirectionPolicy:
  policy: "noop"

publicClient:
  hostPort: ${q(`${frontendHost}:${frontend.grpcPort}`)}

dynamicConfigClient:
  filepath: ${q(input.dynamicConfigFile)}
  pollInterval: "10s"
`;
}

/** The dynamic config file: each key with one unconstrained value. */
export function renderDynamicConfig(
  values: Record<string, string | number | boolean> = CLUSTER_DYNAMIC_CONFIG,
): string {
  return Object.entries(values)
    .map(([key, value]) => `${key}:\n  - value: ${JSON.stringify(value)}\n    constraints: {}\n`)
    .join('');
}

/** The standalone Web UI's YAML (ui-server `--env ui`). */
export function renderUiConfig(input: {
  host: string;
  port: number;
  temporalAddress: string;
  namespace: string;
  codecEndpoint?: string;
}): string {
  const q = (value: string | number): string => JSON.stringify(String(value));
  return `# Rendered by dev/infra/temporal-cluster/server-config.ts; edits are overwritten.
temporalGrpcAddress: ${q(input.temporalAddress)}
host: ${q(input.host)}
port: ${input.port}
enableUi: true
defaultNamespace: ${q(input.namespace)}
cors:
  cookieInsecure: true
codec:
  endpoint: ${q(input.codecEndpoint ?? '')}
`;
}
