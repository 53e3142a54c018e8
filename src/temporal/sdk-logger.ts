import type { Logger as TemporalLogger, LogLevel, LogMetadata } from '@temporalio/common';
import type { Logger } from '../logger';

const PINO_METHOD: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * The Temporal SDK's logs (worker, workflows, activities) as the process's JSON lines, with the
 * order id taken from the workflow id where there is one.
 */
export function temporalLoggerFor(logger: Logger): TemporalLogger {
  const log = (level: LogLevel, message: string, meta: LogMetadata = {}): void => {
    // The SDK logs every activity's start and end at debug: skip building those lines at info.
    if (!logger.isLevelEnabled(PINO_METHOD[level])) return;
    const workflowId = typeof meta.workflowId === 'string' ? meta.workflowId : undefined;
    const orderId = workflowId?.startsWith('order-') ? workflowId.slice('order-'.length) : undefined;
    // The SDK names a failure `error` ("Activity failed"); as `err`, pino writes its type, message,
    // causes and stack rather than only the fields it happens to enumerate.
    const { error, ...rest } = meta;
    const fields = error instanceof Error ? { ...rest, err: error } : meta;
    logger[PINO_METHOD[level]]({ ...fields, ...(orderId ? { orderId } : {}) }, message);
  };
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}
