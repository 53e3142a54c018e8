import type { BenchFlags, SystemId } from './flags';
import type { PhaseResult } from './load';
import type { MemoryReport } from './memory-run';
import { round } from './stats';
import type { SystemResult } from './system-run';

/** Everything one run measured, written as JSON and summarised as Markdown. */
export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  durationSec: number;
  flags: BenchFlags;
  environment: Record<string, unknown>;
  method: Record<string, unknown>;
  systems: Partial<Record<SystemId, SystemResult>>;
  /** This service ÷ each floor. */
  ratios: Partial<Record<'seed' | 'empty', { createsPerSecond: number | null; paidPerSecond: number | null }>>;
  memory: MemoryReport | null;
  peakRssMb: Record<string, number>;
  failures: string[];
  unexpectedExits: string[];
}

export function ratiosOf(systems: BenchReport['systems']): BenchReport['ratios'] {
  const ratios: BenchReport['ratios'] = {};
  const service = systems.service;
  if (!service) return ratios;
  for (const floor of ['seed', 'empty'] as const) {
    const other = systems[floor];
    if (!other) continue;
    const divide = (a: number, b: number): number | null => (b > 0 ? round(a / b, 3) : null);
    ratios[floor] = {
      createsPerSecond: divide(service.create.perSecond, other.create.perSecond),
      paidPerSecond: divide(service.pay.perSecond, other.pay.perSecond),
    };
  }
  return ratios;
}

const ORDER: SystemId[] = ['service', 'seed', 'empty'];

export function markdownReport(report: BenchReport, title: string): string {
  const systems = ORDER.map((id) => report.systems[id]).filter(
    (system): system is SystemResult => system !== undefined,
  );
  const lines: string[] = [`## ${title}`, ''];
  const f = report.flags;
  // With replicas, `worker` and `gateway` stand for the sum over their processes.
  const summed = f.replicas > 1 ? `; worker and gateway summed over their ×${f.replicas} processes` : '';
  lines.push(
    `C=${f.concurrency} N=${f.orders} M=${f.serialOrders} R=${f.replicas} (worker and gateway processes each), ${report.environment.nproc} cores, ${temporalDescription(f)}` +
      `${f.untuned ? ' with the CLI defaults (--untuned)' : ''}${extrasDescription(f)}; ${report.durationSec} s in all. Latencies in ms.`,
    '',
  );
  if (systems.length > 0) {
    lines.push(
      '| system | in flight | creates/s | create p50/p95/p99/max | paid/s | payment→PAID p50/p99 | CPU ms/order (create+pay) | history events/order |',
    );
    lines.push('| --- | ---: | ---: | --- | ---: | --- | ---: | ---: |');
    for (const system of systems) {
      const history = system.history?.eventsPerOrder ?? '–';
      lines.push(
        row(
          system.label,
          system.create,
          system.pay,
          cpuPair(system.cpu.create.systemPerOrderMs, system.cpu.pay.systemPerOrderMs),
          history,
        ),
      );
      lines.push(
        row(
          system.label,
          system.createAt1,
          system.payAt1,
          cpuPair(system.cpu.createAt1?.systemPerOrderMs ?? null, system.cpu.payAt1.systemPerOrderMs),
          history,
          1,
        ),
      );
    }
    lines.push('');
  }

  const resolution = systems.map((system) => `${system.label} ${fmt(system.poller.meanCycleMs)} ms`);
  if (resolution.length > 0)
    lines.push(`payment→PAID resolution (mean cycle of the PAID poller): ${resolution.join(', ')}.`, '');

  const noise = systems.map(
    (system) =>
      `${system.label} ${Math.round(system.cpu.create.outsideShare * 100)}% / ${Math.round(system.cpu.pay.outsideShare * 100)}%`,
  );
  if (noise.length > 0) {
    lines.push(
      `Other load on the machine during the create / pay phases at C (CPU outside the watched processes, share of all cores): ${noise.join(', ')}.`,
      '',
    );
  }

  const ratioLines = Object.entries(report.ratios).map(
    ([floor, ratio]) =>
      `- this service ÷ ${floor === 'seed' ? 'seed floor' : 'empty-workflow floor'}: creates/s ${ratio.createsPerSecond ?? '–'}, paid/s ${ratio.paidPerSecond ?? '–'}`,
  );
  if (ratioLines.length > 0) lines.push('Throughput ratios (at C in flight):', '', ...ratioLines, '');

  const errorLines = systems.flatMap((system) =>
    (['create', 'pay', 'createAt1', 'payAt1'] as const).flatMap((key) => {
      const phase = system[key];
      if (!phase || Object.keys(phase.errors).length === 0) return [];
      return [
        `- ${system.label}, ${key}: ${Object.entries(phase.errors)
          .map(([kind, count]) => `${kind} × ${count}`)
          .join(', ')}`,
      ];
    }),
  );
  lines.push(errorLines.length > 0 ? `Errors:\n\n${errorLines.join('\n')}\n` : 'Errors: none.\n');

  if (systems.length > 0) {
    const names = [...new Set(systems.flatMap((system) => system.processes))];
    lines.push(`CPU ms per order by process at C in flight (create / pay${summed}):`, '');
    lines.push(`| process | ${systems.map((system) => system.label).join(' | ')} |`);
    lines.push(`| --- |${systems.map(() => ' ---: |').join('')}`);
    for (const name of names) {
      const cells = systems.map((system) =>
        system.processes.includes(name)
          ? `${fmt(system.cpu.create.perOrderMs[name])} / ${fmt(system.cpu.pay.perOrderMs[name])}`
          : '–',
      );
      lines.push(`| ${name} | ${cells.join(' | ')} |`);
    }
    lines.push('');
  }

  const withHistory = systems.filter((system) => system.history);
  if (withHistory.length > 0) {
    lines.push('Temporal work per paid order (mean of sampled histories):', '');
    lines.push('| system | sampled | history events | workflow tasks | activities (of which local) |');
    lines.push('| --- | ---: | ---: | ---: | ---: |');
    for (const system of withHistory) {
      const history = system.history;
      if (!history) continue;
      lines.push(
        `| ${system.label} | ${history.sampled} | ${fmt(history.eventsPerOrder)} | ${fmt(history.workflowTasksPerOrder)} | ${fmt(history.activitiesPerOrder)} (${fmt(history.localActivitiesPerOrder)}) |`,
      );
    }
    lines.push('');
  }

  const memory = report.memory;
  if (memory) {
    lines.push(
      `Memory run: ${memory.orders} orders, C=${memory.concurrency}, at most ${memory.window} unpaid at once, ${round(memory.wallMs / 1000)} s; ` +
        `created ${memory.create.succeeded} (${memory.create.perSecond}/s), paid ${memory.pay.succeeded}; errors ${errorsText(memory.create)} / ${errorsText(memory.pay)}.`,
      '',
    );
    const milestones = Object.keys(memory.workerRssMbAt);
    lines.push(
      `| worker RSS (MB${f.replicas > 1 ? `, ×${f.replicas} summed` : ''}) | ${milestones.map((m) => `${Number(m).toLocaleString('en-US')} orders`).join(' | ')} | peak |`,
    );
    lines.push(`| --- |${milestones.map(() => ' ---: |').join('')} ---: |`);
    lines.push(
      `| after a restart | ${milestones.map((m) => fmt(memory.workerRssMbAt[m])).join(' | ')} | ${fmt(memory.workerPeakRssMb)} |`,
    );
    lines.push('');
  }

  const peaks = Object.entries(report.peakRssMb);
  if (peaks.length > 0)
    lines.push(
      `Peak RSS (MB, sampled each second, whole process trees${summed}): ${peaks.map(([name, mb]) => `${name} ${mb}`).join(', ')}.`,
      '',
    );
  if (report.failures.length > 0)
    lines.push('Failures of the harness:', '', ...report.failures.map((failure) => `- ${failure}`), '');
  if (report.unexpectedExits.length > 0)
    lines.push('Processes that exited on their own:', '', ...report.unexpectedExits.map((exit) => `- ${exit}`), '');
  return `${lines.join('\n').trimEnd()}\n`;
}

function row(
  label: string,
  create: PhaseResult | null,
  pay: PhaseResult,
  cpu: string,
  history: number | string,
  inFlight?: number,
): string {
  const latency = create?.latencyMs;
  const createCells =
    create && latency
      ? `${create.perSecond} | ${fmt(latency.p50)}/${fmt(latency.p95)}/${fmt(latency.p99)}/${fmt(latency.max)}`
      : '– | –';
  const payLatency = pay.latencyMs;
  return `| ${label} | ${inFlight ?? pay.inFlight} | ${createCells} | ${pay.perSecond} | ${fmt(payLatency.p50)}/${fmt(payLatency.p99)} | ${cpu} | ${history} |`;
}

function cpuPair(create: number | null, pay: number | null): string {
  const total = create !== null && pay !== null ? ` = ${round(create + pay, 1)}` : '';
  return `${fmt(create)}+${fmt(pay)}${total}`;
}

function errorsText(phase: PhaseResult): string {
  const entries = Object.entries(phase.errors);
  return entries.length === 0 ? 'none' : entries.map(([kind, count]) => `${kind} × ${count}`).join(', ');
}

function fmt(value: number | null | undefined): string {
  if (value === null || value === undefined) return '–';
  return Number.isInteger(value)
    ? String(value)
    : value >= 100
      ? value.toFixed(0)
      : value >= 10
        ? value.toFixed(1)
        : value.toFixed(2);
}

/** The A/B settings of a run (`--dynamic-config`, `--env`); older reports have none. */
function extrasDescription(f: BenchReport['flags']): string {
  const parts: string[] = [];
  const dynamic = Object.entries(f.dynamicConfig ?? {});
  if (dynamic.length > 0)
    parts.push(`dynamic config ${dynamic.map(([key, value]) => `${key}=${String(value)}`).join(', ')}`);
  const env = Object.entries(f.appEnv ?? {});
  if (env.length > 0) parts.push(`service env ${env.map(([key, value]) => `${key}=${value}`).join(', ')}`);
  if (f.appRuntime === 'tsx') parts.push('service processes through tsx');
  return parts.length > 0 ? `; ${parts.join('; ')}` : '';
}

function temporalDescription(f: BenchReport['flags']): string {
  if (f.temporal === 'cluster')
    return `Temporal cluster on PostgreSQL (${f.historyHosts} history host${f.historyHosts === 1 ? '' : 's'}, 4 shards)`;
  return `Temporal dev server ${f.temporal === 'file' ? 'with a SQLite file' : 'in memory'}`;
}
