import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config';
import { temporalConnectionOptions } from './connection';

/**
 * Worker side: the native connection the worker polls with. Apart from connection.ts so that the
 * processes that are only clients (gateway, scripts) never load the worker's SDK.
 */
export function connectTemporalWorker(config: Config['temporal']): Promise<NativeConnection> {
  return NativeConnection.connect(temporalConnectionOptions(config));
}
