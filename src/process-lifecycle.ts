import { constants } from 'node:os';
import { limitHeapGrowth } from './heap-growth';
import type { Logger } from './logger';

/**
 * Runs `stop` once on SIGTERM or SIGINT, then exits 0 (1 if stopping failed). Every process uses
 * this, so in-flight work is finished and connections closed before exit. A stop that takes longer
 * than `timeoutMs` (SHUTDOWN_TIMEOUT_MS) ends the process anyway with 1, and a second signal ends it
 * at once, with 128 + the signal's number as a shell reports a process killed by it.
 */
export function stopOnSignals(logger: Logger, timeoutMs: number, stop: () => Promise<void>): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without waiting for the stop');
      process.exit(128 + (constants.signals[signal] ?? 0));
    }
    stopping = true;
    logger.info({ signal, timeoutMs }, 'stopping');
    // Kept referenced: a stop stuck on a promise nothing else keeps alive still ends with 1, not 0.
    setTimeout(() => {
      logger.error({ timeoutMs }, 'did not stop within SHUTDOWN_TIMEOUT_MS: exiting');
      process.exit(1);
    }, timeoutMs);
    stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'failed to stop cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}

/**
 * Entry-point wrapper: the process's heaps get the project's growth limit before main grows them,
 * a start-up failure is logged as one line and exits non-zero, and so does a crash at any time
 * after (an exception nothing caught, a promise rejection nothing handled): logged, as fatal with
 * the error, before the process exits with 1, rather than as Node's bare stack trace on stderr.
 */
export function runMain(logger: Logger, main: () => Promise<void>): void {
  limitHeapGrowth();
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'crashed: uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'crashed: unhandled promise rejection');
    process.exit(1);
  });
  main().catch((error: unknown) => {
    logger.fatal({ err: error }, 'failed to start');
    process.exit(1);
  });
}
