import path from 'node:path';
import { z } from 'zod';
import { parseConfig, type Config } from '../src/config';
import { withDatabase } from './infra/databases';
import {
  int,
  optional,
  optionalUrl,
  parseSections,
  port,
  section,
  variable,
  variablesOf,
  type Env,
} from '../src/config/env';

/**
 * What `npm start` and `npm run infra` read beyond the services' configuration (src/config.ts):
 * where they keep their data and which local Temporal they run. Declared as the services' variables
 * are, and listed in `.env.example` too (DEV_CONFIG_KEYS).
 */

/** The repository's root, found from this file so scripts work from any working directory. */
export const REPO_ROOT = path.resolve(__dirname, '..');

// Temporal stores membership ports in a smallint column.
const membershipPort = (fallback: number) =>
  z.coerce.number().int().min(1).max(32767, 'must be below 32768 (Temporal stores it as a smallint)').default(fallback);

/** Where locally started services keep their data, logs and pid files. */
const data = section({
  dir: variable(
    'DATA_DIR',
    optional.transform((dir) => (dir ? path.resolve(dir) : path.join(REPO_ROOT, '.data'))),
  ),
});

const temporal = section(
  {
    profile: variable('TEMPORAL_LOCAL_SERVER', z.enum(['dev', 'cluster']).default('dev')),
    /** How long closed workflows are kept (set on the namespace; can change at any time). */
    retentionDays: variable('TEMPORAL_NAMESPACE_RETENTION_DAYS', int(1, 30, 3650)),
    // The cluster profile's settings (TEMPORAL_LOCAL_SERVER=cluster); the dev server ignores them.
    historyShards: variable('TEMPORAL_CLUSTER_HISTORY_SHARDS', int(1, 4, 16384)),
    historyHosts: variable('TEMPORAL_CLUSTER_HISTORY_HOSTS', int(1, 2, 9)),
    databaseUrl: variable('TEMPORAL_CLUSTER_DATABASE_URL', optionalUrl),
    visibilityDatabase: variable(
      'TEMPORAL_CLUSTER_VISIBILITY_DATABASE',
      z
        .string()
        .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL name')
        .default('temporal_visibility'),
    ),
    // Ports of each service; history host n (from 0) uses the history ports + 10 n.
    frontendHttp: variable('TEMPORAL_CLUSTER_FRONTEND_HTTP_PORT', port.default(7243)),
    frontendMembership: variable('TEMPORAL_CLUSTER_FRONTEND_MEMBERSHIP_PORT', membershipPort(6933)),
    history: variable('TEMPORAL_CLUSTER_HISTORY_PORT', port.default(7234)),
    historyMembership: variable('TEMPORAL_CLUSTER_HISTORY_MEMBERSHIP_PORT', membershipPort(6934)),
    matching: variable('TEMPORAL_CLUSTER_MATCHING_PORT', port.default(7235)),
    matchingMembership: variable('TEMPORAL_CLUSTER_MATCHING_MEMBERSHIP_PORT', membershipPort(6935)),
    worker: variable('TEMPORAL_CLUSTER_WORKER_PORT', port.default(7239)),
    workerMembership: variable('TEMPORAL_CLUSTER_WORKER_MEMBERSHIP_PORT', membershipPort(6939)),
    ui: variable('TEMPORAL_UI_PORT', port.default(8233)),
  },
  {
    derive: ({ profile, retentionDays, historyShards, historyHosts, databaseUrl, visibilityDatabase, ...ports }) => ({
      profile,
      retentionDays,
      cluster: { historyShards, historyHosts, databaseUrl, visibilityDatabase, ports },
    }),
  },
);

const DEV_SECTIONS = { data, temporal };

/** Every variable dev/ reads (each documented in `.env.example`, after the services' own). */
export const DEV_CONFIG_KEYS = variablesOf(DEV_SECTIONS);

type DevTemporal = z.output<typeof temporal>;
/** A Temporal cluster with PostgreSQL persistence (TEMPORAL_LOCAL_SERVER=cluster). */
export type TemporalClusterSettings = Omit<DevTemporal['cluster'], 'databaseUrl'> & { databaseUrl: string };
export type TemporalClusterPorts = TemporalClusterSettings['ports'];

export interface DevConfig {
  dataDir: string;
  temporal: Omit<DevTemporal, 'cluster'> & { cluster: TemporalClusterSettings };
}

/**
 * Parses dev/'s variables; throws a ConfigError naming every bad one. The cluster's database is
 * on the server of the services' migrations (`service`) unless TEMPORAL_CLUSTER_DATABASE_URL says.
 */
export function parseDevConfig(
  env: Env = process.env,
  service: Pick<Config, 'migrationDatabaseUrl'> = parseConfig(env),
): DevConfig {
  const { data, temporal } = parseSections(env, DEV_SECTIONS);
  const databaseUrl = temporal.cluster.databaseUrl ?? clusterDatabaseUrl(service.migrationDatabaseUrl);
  return { dataDir: data.dir, temporal: { ...temporal, cluster: { ...temporal.cluster, databaseUrl } } };
}

/** DATA_DIR, or `.data/` in the repository; read alone, so `npm run infra -- stop` needs no other setting. */
export function dataDirOf(env: Env = process.env): string {
  return parseSections(env, { data }).data.dir;
}

/**
 * The cluster's database beside the migrations' one. Only its host, port and credentials count
 * (temporal-cluster/schema.ts reads those), so the service's own URL options are left out.
 */
function clusterDatabaseUrl(migrationDatabaseUrl: string): string {
  const url = new URL(withDatabase(migrationDatabaseUrl, 'temporal'));
  url.search = '';
  return url.toString();
}
