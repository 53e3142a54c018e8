import type { NatsConnection } from '@nats-io/nats-core';
import { sql, type DatabasePool } from 'slonik';

/**
 * The dependencies /readyz asks, one check per connection the process holds. A check resolves
 * when its dependency answered a round trip, and rejects (or times out) otherwise.
 */
export type ReadinessCheck = () => Promise<void>;
export type ReadinessChecks = Record<string, ReadinessCheck>;

/** How long a check may take before its dependency counts as down. */
export const CHECK_TIMEOUT_MS = 2_000;

/** A failure described by this module, whose message is safe to show as it is. */
class Down extends Error {}

/** A PING/PONG with the server: fails while the connection is closed or reconnecting. */
export function natsReady(nats: NatsConnection): ReadinessCheck {
  return async () => {
    if (nats.isClosed()) throw new Down('connection closed');
    await nats.flush();
  };
}

/** A trivial statement through the process's pool. */
export function databaseReady(pool: DatabasePool): ReadinessCheck {
  return async () => {
    await pool.query(sql.unsafe`SELECT 1`);
  };
}

/** Client or worker connection: both carry the workflow service. */
interface TemporalConnectionLike {
  workflowService: { getSystemInfo(request: Record<string, never>): Promise<unknown> };
}

/** A cheap call to the Temporal frontend. */
export function temporalReady(connection: TemporalConnectionLike): ReadinessCheck {
  return async () => {
    await connection.workflowService.getSystemInfo({});
  };
}

export type CheckResult = 'up' | `down: ${string}`;

/** Why a check failed, short and free of connection details: the error's class and first code. */
function reason(error: unknown): string {
  if (!(error instanceof Error)) return 'error';
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' || typeof code === 'number') return `${error.constructor.name} (${code})`;
  }
  return error.constructor.name;
}

/** Runs every check side by side, each bounded by CHECK_TIMEOUT_MS. */
export async function runChecks(checks: ReadinessChecks): Promise<Record<string, CheckResult>> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]): Promise<[string, CheckResult]> => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Down(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      });
      try {
        await Promise.race([check(), timeout]);
        return [name, 'up'];
      } catch (error) {
        return [name, `down: ${error instanceof Down ? error.message : reason(error)}`];
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return Object.fromEntries(entries);
}
