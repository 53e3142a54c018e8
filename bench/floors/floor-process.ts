import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { limitHeapGrowth } from '../../src/heap-growth';

/**
 * What the floor processes share: their settings from the environment the bench gives every
 * process, JSON log lines like the apps' (the bench waits for `"msg":"ready"`), and a clean stop.
 */

export const FLOOR_SETTINGS = {
  natsUrl: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
  temporalAddress: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
  servicesDatabaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/orders',
  seedDatabaseUrl: process.env.BENCH_SEED_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/orders_seed_floor',
  emptyDatabaseUrl: process.env.BENCH_EMPTY_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/orders_empty_floor',
  // The service's defaults (NATS_REQUEST_TIMEOUT_MS, ORDER_CREATE_TIMEOUT_MS).
  requestTimeoutMs: Number(process.env.NATS_REQUEST_TIMEOUT_MS ?? 5_000),
  createTimeoutMs: Number(process.env.ORDER_CREATE_TIMEOUT_MS ?? 15_000),
};

/** How many payment events a floor handles at once. */
export const FLOOR_PAYMENT_PARALLELISM = 64;

export function logLine(name: string, level: 'info' | 'error', msg: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ level, time: new Date().toISOString(), process: name, ...extra, msg })}\n`);
}

export function connectFloorNats(name: string): Promise<NatsConnection> {
  return connect({ servers: FLOOR_SETTINGS.natsUrl, name, maxReconnectAttempts: -1, reconnectTimeWait: 1_000 });
}

/**
 * Runs `main` with the heaps limited as the service's processes limit theirs (runMain); its
 * returned stop function runs on SIGTERM/SIGINT. A start-up failure exits 1.
 */
export function runFloor(name: string, main: () => Promise<() => Promise<void>>): void {
  limitHeapGrowth();
  main().then(
    (stop) => {
      logLine(name, 'info', 'ready');
      let stopping = false;
      const onSignal = (): void => {
        if (stopping) return;
        stopping = true;
        stop().then(
          () => process.exit(0),
          (error: unknown) => {
            logLine(name, 'error', 'stop failed', { err: String(error) });
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    },
    (error: unknown) => {
      logLine(name, 'error', 'start failed', { err: error instanceof Error ? error.stack : String(error) });
      process.exit(1);
    },
  );
}
