import { takeSnapshot } from '../audit/collect';
import { compareStores } from '../audit/compare';
import { DISCREPANCY_KINDS, discrepancyCount, type AuditReport } from '../audit/snapshot';
import { loadConfigOrExit } from '../config';
import { createDeadLettersRepository } from '../db/dead-letters-repository';
import { createDatabasePool, closeDatabasePool } from '../db/pool';
import { connectNats } from '../nats/connection';
import { connectTemporalClient } from '../temporal/connection';

/**
 * `npm run audit`: compares PostgreSQL, Temporal and the payment stream and prints a short report;
 * exits 1 on any missing, duplicate, stuck or mismatched order, any refund owed and not done, any
 * unresolved dead letter, or any stream message dropped before its consumer handled it.
 * `--dead-letters` lists the payment events kept for an operator; `--resolve-dead-letter=ID
 * --resolution="what was done"` marks one resolved; `--grace-ms=N` sets how recent work counts as
 * under way.
 */

function render(report: AuditReport): string {
  const { counts } = report;
  const lines = [
    `orders ${counts.orders}, workflows ${counts.workflows}, payments ${counts.payments}, ` +
      `payment events ${counts.paymentEvents} (${counts.eventsInFlight} in flight), dead letters ${counts.deadLetters}`,
  ];
  for (const kind of DISCREPANCY_KINDS) {
    lines.push(`${kind}: ${report[kind].length}`);
    for (const problem of report[kind].slice(0, 20)) lines.push(`  - ${problem}`);
    if (report[kind].length > 20) lines.push(`  … and ${report[kind].length - 20} more`);
  }
  lines.push(
    discrepancyCount(report) === 0 ? 'OK: no discrepancies' : `FAILED: ${discrepancyCount(report)} discrepancies`,
  );
  return lines.join('\n');
}

/** The value of `--name=value`, or undefined. */
function option(argv: string[], name: string): string | undefined {
  const arg = argv.find((candidate) => candidate.startsWith(`${name}=`));
  return arg === undefined ? undefined : arg.slice(name.length + 1);
}

/** `--grace-ms=N`: how recent a change may be and still count as under way (default one minute). */
function graceMs(argv: string[]): number {
  const value = argv.find((arg) => arg.startsWith('--grace-ms='))?.split('=')[1];
  const parsed = Number(value ?? 60_000);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new Error(`--grace-ms must be a whole number of milliseconds, not ${value}`);
  return parsed;
}

async function main(): Promise<number> {
  const config = loadConfigOrExit('tool');
  const [pool, temporal, nats] = await Promise.all([
    createDatabasePool(config.databaseUrl),
    connectTemporalClient(config.temporal),
    connectNats(config.nats, 'orders-audit'),
  ]);
  try {
    const resolve = option(process.argv, '--resolve-dead-letter');
    if (resolve !== undefined) {
      const id = Number(resolve);
      const resolution = option(process.argv, '--resolution');
      if (!Number.isInteger(id) || id <= 0 || resolution === undefined || resolution.trim() === '')
        throw new Error('--resolve-dead-letter=ID needs a whole id and --resolution="what was done"');
      const resolved = await createDeadLettersRepository(pool).resolve(id, resolution);
      process.stdout.write(resolved ? `dead letter ${id} resolved\n` : `no unresolved dead letter ${id}\n`);
      return resolved ? 0 : 1;
    }
    if (process.argv.includes('--dead-letters')) {
      const letters = await createDeadLettersRepository(pool).list();
      process.stdout.write(`${JSON.stringify(letters, null, 2)}\n`);
      return 0;
    }
    const report = compareStores(await takeSnapshot({ pool, temporal, nats }), {
      placementTimeoutMs: config.orders.placementTimeoutMs,
      paymentWindowMs: config.orders.paymentWindowMs,
      graceMs: graceMs(process.argv),
    });
    process.stdout.write(`${render(report)}\n`);
    return discrepancyCount(report) === 0 ? 0 : 1;
  } finally {
    await Promise.all([closeDatabasePool(pool), temporal.connection.close(), nats.close()]);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`audit failed: ${(error as Error).message}\n`);
    process.exit(2);
  },
);
