import type { Config } from '../../src/config';
import { closeDatabasePool, createDatabasePool } from '../../src/db/pool';
import { startGateway } from '../../src/gateway/service';
import type { Logger } from '../../src/logger';
import { connectNats } from '../../src/nats/connection';
import { connectTemporalClient } from '../../src/temporal/connection';
import { connectNestClient, type NestClient } from './nest-client';

export interface StandaloneGateway {
  /** A real NestJS client over NATS, as the gateway's callers use. */
  nest: NestClient;
  /** Closes what was opened, the client first and the gateway's connections last. */
  stop(): Promise<void>;
}

/**
 * The gateway alone, on connections of its own made from `config` (its PostgreSQL, NATS and
 * Temporal), as a deployment runs it: for tests that put one of those in a state of their own.
 */
export async function startStandaloneGateway(config: Config, logger: Logger): Promise<StandaloneGateway> {
  // One at a time, each closer kept as soon as it exists: after a failed start, stop closes what
  // was opened (a leaked connection kept jest from exiting after a failed run).
  const closers: Array<() => Promise<unknown>> = [];
  /** Every closer runs, whichever fails; the first failure is thrown once all have run. */
  const stop = async (): Promise<void> => {
    const failures: unknown[] = [];
    for (const close of closers.splice(0).reverse()) await close().catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw failures[0];
  };
  try {
    const pool = await createDatabasePool(config.databaseUrl);
    closers.push(() => closeDatabasePool(pool));
    const nats = await connectNats(config.nats, 'test');
    closers.push(() => nats.drain());
    const temporal = await connectTemporalClient(config.temporal);
    closers.push(() => temporal.connection.close());
    const gateway = await startGateway({ config, logger, nats, temporal, pool });
    closers.push(() => gateway.stop());
    const nest = await connectNestClient(config.nats.url);
    closers.push(() => nest.close());
    return { nest, stop };
  } catch (error) {
    // The start's failure is the one to see, not a close's after it.
    await stop().catch(() => undefined);
    throw error;
  }
}
