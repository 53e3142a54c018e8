/** Starting and stopping the local infrastructure: one module per service, gathered here. */
export { freePort, freePorts, isPortOpen, waitForPort, waitUntil } from './ports';
export { managedFromPid, spawnService, stopPid, type ManagedProcess, type SpawnedService } from './managed-process';
export {
  DEV_SERVER_DYNAMIC_CONFIG,
  DEV_SERVER_SQLITE_PRAGMAS,
  ensureNamespace,
  ORDER_SEARCH_ATTRIBUTES,
  registerSearchAttributes,
  startTemporalDevServer,
  waitForFrontend,
  waitForNamespace,
  waitForTemporal,
  type DynamicConfig,
  type TemporalCliTarget,
  type TemporalDevServerOptions,
} from './temporal-server';
export { startNatsServer, type NatsServerOptions } from './nats-server';
export { startStripeMock, type StripeMockOptions } from './stripe-mock';
export { startPostgres, type PostgresOptions } from './postgres-server';
export { startTemporalCluster, type TemporalCluster, type TemporalClusterOptions } from './temporal-cluster/cluster';
