import type { LogLevel } from '@temporalio/common';
import type { RuntimeOptions } from '@temporalio/worker';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { temporalLoggerFor } from './sdk-logger';

/**
 * The options of the SDK's Runtime (installed once per worker process, before any connection):
 * the SDK core's own logs forwarded into the process's JSON lines, and its metrics exported in
 * Prometheus format on config.metrics.workerSdkPort (none when that is off).
 */
export function temporalRuntimeOptions(logger: Logger, config: Pick<Config, 'logLevel' | 'metrics'>): RuntimeOptions {
  const port = config.metrics.workerSdkPort;
  return {
    logger: temporalLoggerFor(logger),
    telemetryOptions: {
      // Without `forward`, core would print its lines to stderr itself, outside the JSON logs.
      logging: { filter: { core: coreLogLevel(config.logLevel), other: 'ERROR' }, forward: {} },
      ...(port !== undefined ? { metrics: { prometheus: { bindAddress: `0.0.0.0:${port}` } } } : {}),
    },
  };
}

/** Core's debug output is per poll and per gRPC call: kept at INFO even when the process logs debug. */
function coreLogLevel(level: Config['logLevel']): LogLevel {
  if (level === 'trace' || level === 'debug') return 'INFO';
  if (level === 'info' || level === 'warn') return 'WARN';
  return 'ERROR';
}
