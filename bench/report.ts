import { NOT_IN_HISTORY } from './billable-actions';
import {
  cpuAboveFloor,
  figuresOf,
  CPU_TARGET,
  median,
  medianFigures,
  medianRatios,
  ratiosPerAlternation,
  FLOORS,
  type CpuAboveFloor,
  type Floor,
  type RatioName,
  type Ratios,
  type SystemFigures,
} from './figures';
import type { BenchFlags, SystemId } from './flags';
import type { PhaseResult } from './load';
import type { MemoryReport } from './memory-run';
import type { OrderCallsResult, TimedActivity } from './order-calls';
import type { SystemRuntime } from './stack';
import { round } from './stats';
import type { SystemResult } from './system-run';
import { WORKER_SETTING_VARIABLES } from './worker-settings';

/** Everything one run measured, written as JSON and summarised as Markdown. */
export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  durationSec: number;
  flags: BenchFlags;
  environment: Record<string, unknown>;
  method: Record<string, unknown>;
  /** How each system's processes ran: runtime, workflow cache, stack traces, workflow bundle. */
  runtimes: Partial<Record<SystemId, SystemRuntime>>;
  /** Every run of every system: `runs[a]` is alternation a + 1 (one alternation unless `--alternations`). */
  runs: Array<Partial<Record<SystemId, SystemResult>>>;
  /** Each system's figures, run by run, and their medians (what the Markdown's headline shows). */
  figures: Partial<Record<SystemId, { median: SystemFigures; runs: SystemFigures[] }>>;
  /** This service ÷ each floor: the median over alternations of each alternation's ratio. */
  ratios: Partial<Record<Floor, Ratios>>;
  ratiosPerAlternation: Array<Partial<Record<Floor, Ratios>>>;
  /** Per alternation, the service's CPU above floor 2 by what it pays for (null without all three systems). */
  cpuAboveFloor: Array<CpuAboveFloor | null>;
  memory: MemoryReport | null;
  /** The service's own calls to its peers and PostgreSQL, timed one after another (order-calls.ts). */
  orderCalls: OrderCallsResult | null;
  peakRssMb: Record<string, number>;
  failures: string[];
  unexpectedExits: string[];
}

export const SYSTEM_ORDER: readonly SystemId[] = ['service', 'seed', 'empty', 'empty-sa'];

/** Figures and ratios of `runs`: per run, medians, ratios per alternation and their medians. */
export function summarizeRuns(
  runs: BenchReport['runs'],
): Pick<BenchReport, 'figures' | 'ratios' | 'ratiosPerAlternation' | 'cpuAboveFloor'> {
  const figures: BenchReport['figures'] = {};
  for (const id of SYSTEM_ORDER) {
    const list = runs.flatMap((run) => (run[id] ? [figuresOf(run[id])] : []));
    if (list.length > 0) figures[id] = { median: medianFigures(list), runs: list };
  }
  const perAlternation = ratiosPerAlternation(runs);
  return {
    figures,
    ratios: medianRatios(perAlternation),
    ratiosPerAlternation: perAlternation,
    cpuAboveFloor: runs.map(cpuAboveFloor),
  };
}

interface Shown {
  id: SystemId;
  label: string;
  figures: SystemFigures;
  runs: SystemResult[];
}

export function markdownReport(report: BenchReport, title: string): string {
  const shown: Shown[] = SYSTEM_ORDER.flatMap((id) => {
    const figures = report.figures[id];
    const runs = report.runs.flatMap((run) => (run[id] ? [run[id]] : []));
    const first = runs[0];
    return figures && first ? [{ id, label: first.label, figures: figures.median, runs }] : [];
  });
  const lines: string[] = [`## ${title}`, ''];
  const f = report.flags;
  const alternations = report.runs.length;
  const medians = alternations > 1;
  // With replicas, `worker` and `gateway` stand for the sum over their processes.
  const summed = f.replicas > 1 ? `; worker and gateway summed over their ×${f.replicas} processes` : '';
  lines.push(
    `C=${f.concurrency} N=${f.orders} M=${f.serialOrders} R=${f.replicas} (worker and gateway processes each), ${report.environment.nproc} cores, ${temporalDescription(f)}` +
      `${f.untuned ? ' with the CLI defaults (--untuned)' : ''}${extrasDescription(f)}; ${loadDescription(f)}` +
      `${medians ? `; ${alternations} alternations, the tables give medians` : ''}; ${report.durationSec} s in all. Latencies in ms.`,
    '',
  );
  const cacheOf = (id: SystemId): number | null => report.runtimes[id]?.maxCachedWorkflows ?? null;

  if (shown.length > 0) {
    const actions = shown.some((system) => system.figures.billableActionsPerOrder !== null);
    lines.push(
      `| system | in flight | creates/s | create p50/p95/p99/max | paid/s | payment→PAID p50/p99 | CPU ms/order (create+pay) | history events/order |${actions ? ' billable actions/order |' : ''}`,
    );
    lines.push(`| --- | ---: | ---: | --- | ---: | --- | ---: | ---: |${actions ? ' ---: |' : ''}`);
    for (const system of shown) {
      const g = system.figures;
      const history = fmt(g.eventsPerOrder);
      const billable = actions ? ` ${fmt(g.billableActionsPerOrder)} |` : '';
      const cpu = f.paymentDelaySec !== null ? `${fmt(g.cpuOrderMs)} (overlapped)` : cpuPair(g.cpuCreateMs, g.cpuPayMs);
      lines.push(
        `| ${system.label} | ${inFlightCell(f)} | ${fmt(g.createsPerSecond)} | ${latencies(g.createP50, g.createP95, g.createP99, g.createMax)} | ${fmt(g.paidPerSecond)} | ${fmt(g.payP50)}/${fmt(g.payP99)} | ${cpu} | ${history} |${billable}`,
      );
      const createAt1 =
        g.createsPerSecondAt1 === null
          ? '– | –'
          : `${fmt(g.createsPerSecondAt1)} | ${latencies(g.createAt1P50, g.createAt1P95, g.createAt1P99, g.createAt1Max)}`;
      lines.push(
        `| ${system.label} | 1 | ${createAt1} | ${fmt(g.paidPerSecondAt1)} | ${fmt(g.payAt1P50)}/${fmt(g.payAt1P99)} | ${cpuPair(g.cpuCreateAt1Ms, g.cpuPayAt1Ms)} | ${history} |${billable}`,
      );
    }
    lines.push('');
    lines.push(
      `CPU is the system's own processes'; the bench's (load generator, PAID poller and its PostgreSQL backend) is apart, in the table by process.`,
      '',
    );
  }

  if (f.arrivalRate !== null && shown.length > 0) {
    lines.push(
      `Open loop: creates scheduled at ${f.arrivalRate}/s, at most ${shown[0]?.runs[0]?.create.openLoop?.inFlightCap ?? '–'} in flight; create latencies from each create's scheduled time. ` +
        shown
          .map((system) => {
            const open = system.runs[0]?.create.openLoop;
            return `${system.label}: sent ${fmt(system.figures.sentPerSecond)}/s, ${fmt(system.figures.capHits)} sends waited at the cap${open ? `, latency from the actual send p50/p99 ${fmt(open.latencyFromSendMs.p50)}/${fmt(open.latencyFromSendMs.p99)}${medians ? ' (first run)' : ''}` : ''}`;
          })
          .join('; ') +
        '.',
      '',
    );
  }
  if (f.paymentDelaySec !== null && shown.length > 0) {
    lines.push(
      `Payments ${f.paymentDelaySec} s after each create was answered, overlapping the creates; payment→PAID from each payment's publish. Orders pending (created, not yet PAID) at the peak: ` +
        shown
          .map((system) => {
            const cache = cacheOf(system.id);
            return `${system.label} ${fmt(system.figures.peakPending)}${cache !== null ? ` (workflow cache ${cache})` : ''}`;
          })
          .join(', ') +
        '.',
      '',
    );
  }

  const runtimes = SYSTEM_ORDER.flatMap((id) => {
    const runtime = report.runtimes[id];
    const label = shown.find((system) => system.id === id)?.label;
    return runtime && label ? [{ label, runtime }] : [];
  });
  if (runtimes.length > 0) {
    lines.push('How each system ran (like with like):', '');
    lines.push(
      '| system | runtime | workflow cache | stack traces | workflow bundle | NODE_OPTIONS | allocator | old-generation growth |',
    );
    lines.push('| --- | --- | ---: | --- | --- | --- | --- | ---: |');
    for (const { label, runtime } of runtimes) {
      const traces = runtime.workflowStackTraces === null ? '–' : runtime.workflowStackTraces ? 'on' : 'off';
      lines.push(
        `| ${label} | ${runtime.runtime === 'tsx' ? 'tsx' : `${runtime.runtime}: ${runtime.build}`} | ${fmt(runtime.maxCachedWorkflows)} | ${traces} | ${runtime.workflowBundle ?? '–'} | \`${runtime.nodeOptions}\` | ${runtime.allocator} | ${runtime.heapGrowingPercent} % |`,
      );
    }
    lines.push('');
  }

  const resolution = shown.map(
    (system) => `${system.label} ${fmt(median(system.runs.map((run) => run.poller.meanCycleMs)))} ms`,
  );
  if (resolution.length > 0)
    lines.push(`payment→PAID resolution (mean cycle of the PAID poller): ${resolution.join(', ')}.`, '');

  if (!medians) {
    const noise = shown.flatMap((system) => {
      const run = system.runs[0];
      if (!run) return [];
      const phases = run.cpu.createAndPay ? [run.cpu.createAndPay] : [run.cpu.create, run.cpu.pay];
      return [
        `${system.label} ${phases.map((phase) => `${Math.round((phase?.outsideShare ?? 0) * 100)}%`).join(' / ')}`,
      ];
    });
    if (noise.length > 0) {
      lines.push(
        `Other load on the machine during the ${f.paymentDelaySec !== null ? 'overlapped create and pay phase' : 'create / pay phases'} (CPU outside the watched processes, share of all cores): ${noise.join(', ')}.`,
        '',
      );
    }
  }

  const ratioLines = Object.entries(report.ratios).map(
    ([floor, ratio]) =>
      `- this service ÷ ${floorName(floor)}: creates/s ${fmt(ratio.createsPerSecond)}, paid/s ${fmt(ratio.paidPerSecond)}, ` +
      `CPU/order ${fmt(ratio.cpuPerOrder)}, billable actions/order ${fmt(ratio.billableActionsPerOrder)}, history events/order ${fmt(ratio.eventsPerOrder)}; ` +
      `at 1 in flight: create p50 ${fmt(ratio.createAt1P50)}, payment→PAID p50 ${fmt(ratio.payAt1P50)}`,
  );
  if (ratioLines.length > 0)
    lines.push(
      `Ratios (${f.arrivalRate !== null ? `open loop at ${f.arrivalRate}/s` : 'at C in flight'}${medians ? '; per alternation, then the median' : ''}):`,
      '',
      ...ratioLines,
      '',
    );

  if (medians && shown.length > 0) lines.push(...perRunTable(report, shown));

  const errorLines = shown.flatMap((system) =>
    system.runs.flatMap((run) =>
      (['create', 'pay', 'createAt1', 'payAt1'] as const).flatMap((key) => {
        const phase = run[key];
        if (!phase || Object.keys(phase.errors).length === 0) return [];
        return [`- ${system.label}${medians ? ` (run ${run.alternation})` : ''}, ${key}: ${errorsText(phase)}`];
      }),
    ),
  );
  lines.push(errorLines.length > 0 ? `Errors:\n\n${errorLines.join('\n')}\n` : 'Errors: none.\n');

  if (shown.length > 0) lines.push(...processTable(report, shown, summed));
  lines.push(...cpuAboveFloorLines(report));
  lines.push(...orderCallLines(report, shown));
  lines.push(...historyTables(report, shown));

  const memory = report.memory;
  if (memory) {
    const bound =
      memory.paymentDelayMs !== null
        ? `each paid ${round(memory.paymentDelayMs / 1000)} s after its create (no window), at most ${memory.peakPending} pending at once`
        : `at most ${memory.window} unpaid at once`;
    lines.push(
      `Memory run: ${memory.orders} orders, C=${memory.concurrency}, ${bound}, ${round(memory.wallMs / 1000)} s; ` +
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

/** Each run's main figures, and each alternation's ratios (with `--alternations`). */
function perRunTable(report: BenchReport, shown: Shown[]): string[] {
  const lines = ['Each run (the medians above are over these):', ''];
  lines.push(
    '| system | run | creates/s | create p50 | paid/s | payment→PAID p50 | CPU ms/order | bench CPU ms/order | billable actions/order | other load |',
  );
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const system of shown) {
    const list = report.figures[system.id]?.runs ?? [];
    system.runs.forEach((run, index) => {
      const g = list[index];
      if (!g) return;
      const phases = run.cpu.createAndPay ? [run.cpu.createAndPay] : [run.cpu.create, run.cpu.pay];
      const other = phases.map((phase) => `${Math.round((phase?.outsideShare ?? 0) * 100)}%`).join(' / ');
      lines.push(
        `| ${system.label} | ${run.alternation} | ${fmt(g.createsPerSecond)} | ${fmt(g.createP50)} | ${fmt(g.paidPerSecond)} | ${fmt(g.payP50)} | ${fmt(g.cpuOrderMs)} | ${fmt(g.benchCpuOrderMs)} | ${fmt(g.billableActionsPerOrder)} | ${other} |`,
      );
    });
  }
  lines.push('');
  const floors = FLOORS.filter((floor) => report.ratiosPerAlternation.some((r) => r[floor]));
  if (floors.length > 0) {
    lines.push(
      '| alternation | floor | creates/s ratio | paid/s ratio | CPU/order ratio | billable actions ratio | create p50 at 1 ratio | payment→PAID p50 at 1 ratio |',
    );
    lines.push('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    report.ratiosPerAlternation.forEach((ratios, index) => {
      for (const floor of floors) {
        const ratio = ratios[floor];
        if (!ratio) continue;
        lines.push(`| ${index + 1} | ${floorName(floor)} | ${ratioCells(ratio)} |`);
      }
    });
    for (const floor of floors) {
      const ratio = report.ratios[floor];
      if (ratio) lines.push(`| median | ${floorName(floor)} | ${ratioCells(ratio)} |`);
    }
    lines.push(
      '',
      'Each ratio is this service ÷ the floor: above 1, the service has more creates/s and paid/s, and costs more CPU, actions and latency.',
      '',
    );
  }
  return lines;
}

/**
 * Per alternation, the service's CPU above floor 2 split into the work an order requires and floor 2
 * never does, and the rest, beside the margin the CPU target leaves.
 */
function cpuAboveFloorLines(report: BenchReport): string[] {
  const rows = report.cpuAboveFloor.flatMap((row, index) => (row ? [{ row, alternation: `${index + 1}` }] : []));
  if (rows.length === 0) return [];
  const keys = [
    'floorMs',
    'marginMs',
    'aboveMs',
    'postgresMs',
    'peersMs',
    'natsMs',
    'searchAttributesMs',
    'requiredMs',
    'restMs',
  ] as const satisfies ReadonlyArray<keyof CpuAboveFloor>;
  const medians = Object.fromEntries(keys.map((key) => [key, median(rows.map(({ row }) => row[key]))]));
  const line = (alternation: string, cells: Partial<Record<keyof CpuAboveFloor, number | null>>, over: string) =>
    `| ${alternation} | ${keys.map((key) => fmt(cells[key])).join(' | ')} | ${over} |`;
  const over = rows.filter(({ row }) => row.requiredMs > row.marginMs).length;
  return [
    `This service's CPU above floor 2 by what it pays for (ms per paid order), against the margin a CPU target of ${CPU_TARGET} × floor 2 leaves:`,
    '',
    `| alternation | floor 2 | margin at ${CPU_TARGET} | this service above floor 2 | PostgreSQL | peers (products, payments, stripe-mock) | NATS | search attributes | required in all | the rest | required above the margin |`,
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows.map(({ row, alternation }) => line(alternation, row, row.requiredMs > row.marginMs ? 'yes' : 'no')),
    line('median', medians, `${over} of ${rows.length}`),
    '',
    'PostgreSQL, peers and NATS: this service less floor 2, process by process. Search attributes: floor 2 with them less floor 2 (the order starts with its status and upserts it when paid). ' +
      "The rest: the service's Temporal beyond the search attributes, its worker and its gateway, less floor 2's (below 0 only by noise: the search attributes' share is the difference of two systems' runs). Each median is its own, so the medians need not add up. " +
      'Where the required work alone is above the margin, the service meets the target in that alternation only if the rest is below 0 by at least the excess: its Temporal, worker and gateway cost less than those of floor 2 with search attributes, an empty workflow.',
    '',
  ];
}

/** CPU per order by process, with the bench's own CPU in rows of its own, outside every system's sum. */
function processTable(report: BenchReport, shown: Shown[], summed: string): string[] {
  const overlapped = report.flags.paymentDelaySec !== null;
  const phases = overlapped ? ['create+pay'] : ['create', 'pay'];
  const lines = [
    `CPU ms per order by process over the measured phases (${overlapped ? 'create and pay overlapped, per paid order' : 'create / pay'}${summed}${report.runs.length > 1 ? '; medians' : ''}):`,
    '',
  ];
  lines.push(`| process | ${shown.map((system) => system.label).join(' | ')} |`);
  lines.push(`| --- |${shown.map(() => ' ---: |').join('')}`);
  const names = [...new Set(shown.flatMap((system) => Object.keys(system.figures.processCpu)))];
  for (const name of names) {
    const cells = shown.map((system) => {
      const reading = system.figures.processCpu[name];
      return reading ? phases.map((phase) => fmt(reading[phase])).join(' / ') : '–';
    });
    lines.push(`| ${name} | ${cells.join(' | ')} |`);
  }
  const harness = (pick: (run: SystemResult) => Array<number | null>): string[] =>
    shown.map((system) => {
      const values = system.runs.map(pick);
      return phases.map((_phase, index) => fmt(median(values.map((list) => list[index] ?? null)))).join(' / ');
    });
  const phaseCpus = (run: SystemResult) =>
    run.cpu.createAndPay ? [run.cpu.createAndPay] : [run.cpu.create, run.cpu.pay];
  lines.push(
    `| **system** | ${shown.map((system) => (overlapped ? fmt(system.figures.cpuOrderMs) : `${fmt(system.figures.cpuCreateMs)} / ${fmt(system.figures.cpuPayMs)}`)).join(' | ')} |`,
  );
  lines.push(
    `| bench process (load generator, PAID poller): not in the system's | ${harness((run) => phaseCpus(run).map((phase) => phase?.harness.benchPerOrderMs ?? null)).join(' | ')} |`,
  );
  lines.push(
    `| PAID poller's PostgreSQL backend (out of postgres): not in the system's | ${harness((run) => phaseCpus(run).map((phase) => phase?.harness.pollerBackendPerOrderMs ?? null)).join(' | ')} |`,
  );
  lines.push('');
  return lines;
}

/** Temporal work per paid order, billable actions side by side with the floor's, and the work still to come. */
function historyTables(report: BenchReport, shown: Shown[]): string[] {
  const withHistory = shown.filter((system) => system.runs.some((run) => run.history));
  if (withHistory.length === 0) return [];
  const medians = report.runs.length > 1;
  const lines = [`Temporal work per paid order (mean of sampled histories${medians ? ', median over runs' : ''}):`, ''];
  lines.push('| system | sampled | history events | workflow tasks | activities (of which local) | runs |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const system of withHistory) {
    const g = system.figures;
    const sampled = system.runs.reduce((sum, run) => sum + (run.history?.sampled ?? 0), 0);
    const runsPerOrder = median(system.runs.map((run) => run.history?.runsPerOrder ?? null));
    lines.push(
      `| ${system.label} | ${sampled} | ${fmt(g.eventsPerOrder)} | ${fmt(g.workflowTasksPerOrder)} | ${fmt(g.activitiesPerOrder)} (${fmt(g.localActivitiesPerOrder)}) | ${fmt(runsPerOrder)} |`,
    );
  }
  lines.push('');

  // Billable actions: this service beside the empty-workflow floors, kind by kind.
  const service = withHistory.find((system) => system.id === 'service');
  const floors = withHistory.filter((system) => system.id === 'empty' || system.id === 'empty-sa');
  const columns = [service, ...floors].filter((system): system is Shown => system !== undefined);
  const kinds = [...new Set(columns.flatMap((system) => Object.keys(system.figures.billableByKind)))];
  lines.push(
    'Temporal Cloud billable actions per paid order, counted from the sampled histories by the published list (https://docs.temporal.io/cloud/actions; bench/billable-actions.ts):',
    '',
  );
  // One ratio column per floor beside this service.
  const compared = service === undefined ? [] : floors;
  lines.push(
    `| action (history) | ${columns.map((system) => system.label).join(' | ')} |${compared.map((floor) => ` service ÷ ${floor.label} |`).join('')}`,
  );
  lines.push(`| --- |${columns.map(() => ' ---: |').join('')}${compared.map(() => ' ---: |').join('')}`);
  const ratioCells = (values: ReadonlyArray<number | null>): string =>
    compared
      .map((_floor, index) => {
        const a = values[0];
        const b = values[index + 1];
        return ` ${a !== null && a !== undefined && b ? fmt(round(a / b, 2)) : '–'} |`;
      })
      .join('');
  for (const kind of kinds) {
    const values = columns.map((system) => system.figures.billableByKind[kind] ?? 0);
    lines.push(`| ${kindLabel(kind)} | ${values.map((value) => fmt(value)).join(' | ')} |${ratioCells(values)}`);
  }
  const totals = columns.map((system) => system.figures.billableActionsPerOrder);
  const totalRatios = compared
    .map((floor) => ` **${fmt(report.ratios[floor.id as Floor]?.billableActionsPerOrder)}** |`)
    .join('');
  lines.push(`| **total** | ${totals.map((value) => `**${fmt(value)}**`).join(' | ')} |${totalRatios}`);
  lines.push('');
  const exempt = columns.map((system) => {
    const values = system.runs.map((run) => run.history?.exemptPerOrder ?? null);
    const upserts = median(values.map((value) => value?.changeVersionUpserts ?? null));
    const markers = median(values.map((value) => value?.markersSharingATask ?? null));
    return `${system.label} ${fmt(upserts)} \`TemporalChangeVersion\` upserts and ${fmt(markers)} markers sharing a workflow task`;
  });
  lines.push(
    `Not billed though in the history, per order: ${exempt.join('; ')}.${medians ? " The ratio of the totals is the median of each alternation's ratio; the others are ratios of medians." : ''}`,
    '',
  );
  lines.push(
    `Not in any history, so not counted here: ${NOT_IN_HISTORY.join('; ')}. This bench sends no queries, heartbeats or rejected updates.`,
    '',
  );

  lines.push('Deferred work the bench window misses (when the histories were read):', '');
  lines.push(`| | ${columns.map((system) => system.label).join(' | ')} |`);
  lines.push(`| --- |${columns.map(() => ' ---: |').join('')}`);
  lines.push(
    `| timers pending per order (started, neither fired nor cancelled: each a workflow task to come) | ${columns.map((system) => fmt(system.figures.pendingTimersPerOrder)).join(' | ')} |`,
  );
  lines.push(
    `| workflows still open (Active Storage until they close, then Retained Storage and a retention delete; not actions) | ${columns
      .map((system) => {
        const open = system.runs.reduce((sum, run) => sum + (run.history?.openWorkflows ?? 0), 0);
        const sampled = system.runs.reduce((sum, run) => sum + (run.history?.sampled ?? 0), 0);
        return `${open}/${sampled}`;
      })
      .join(' | ')} |`,
  );
  lines.push('');
  return lines;
}

function kindLabel(kind: string): string {
  switch (kind) {
    case 'ACTIVITY_RETRIES':
      return 'activity retries (ACTIVITY_TASK_STARTED attempt − 1)';
    case 'LOCAL_ACTIVITY_RETRIES':
      return 'local activity retries (WORKFLOW_TASK_COMPLETED metering)';
    case 'MARKER_RECORDED':
      return 'MARKER_RECORDED (one per workflow task)';
    case 'START_CHILD_WORKFLOW_EXECUTION_INITIATED':
      return 'START_CHILD_WORKFLOW_EXECUTION_INITIATED (2 each)';
    case 'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES':
      return 'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES (not TemporalChangeVersion alone)';
    case 'WORKFLOW_RESET':
      return 'reset (WORKFLOW_TASK_FAILED, cause RESET_WORKFLOW)';
    default:
      return kind;
  }
}

/** The order's activities, timed one after another, beside each system's create and payment at 1 in flight. */
function orderCallLines(report: BenchReport, shown: Shown[]): string[] {
  const calls = report.orderCalls;
  if (calls === null) return [];
  const activityLine = (activity: TimedActivity): string => {
    const inside = activity.calls.map(
      (call) =>
        `${call.name} ${fmt(call.p50Ms)}${call.count > activity.count ? ` (×${round(call.count / activity.count, 1)})` : ''}`,
    );
    return `| ${activity.name} | ${fmt(activity.p50Ms)} | ${inside.join('; ') || '–'} |`;
  };
  const sum = (activities: TimedActivity[]): number =>
    round(activities.reduce((total, activity) => total + (activity.p50Ms ?? 0), 0));
  const at1 = shown
    .map((system) => `${system.label} ${fmt(system.figures.createAt1P50)} / ${fmt(system.figures.payAt1P50)}`)
    .join('; ');
  return [
    `The order's activities one after another, as its workflow runs them for a ${calls.keyless ? 'keyless' : 'keyed'} create of ${calls.lines} lines and its payment: the worker's own code and configuration, run from the bench process after the alternations; p50 of ${calls.rounds} rounds, ms. Inside each, its NATS requests and PostgreSQL statements:`,
    '',
    '| activity | p50 | inside it (p50 each) |',
    '| --- | ---: | --- |',
    ...calls.create.map(activityLine),
    ...calls.payment.map(activityLine),
    '',
    `Sums of the p50s: a create's ${fmt(sum(calls.create))}, a payment's ${fmt(sum(calls.payment))}. Create p50 / payment→PAID p50 at 1 in flight (medians): ${at1}.`,
    '',
  ];
}

function floorName(floor: string): string {
  if (floor === 'seed') return 'seed floor';
  return floor === 'empty-sa' ? 'empty-workflow floor with search attributes' : 'empty-workflow floor';
}

/** One alternation's (or the median) ratios to a floor, as the cells of the ratio table. */
function ratioCells(ratio: Ratios): string {
  const names: RatioName[] = [
    'createsPerSecond',
    'paidPerSecond',
    'cpuPerOrder',
    'billableActionsPerOrder',
    'createAt1P50',
    'payAt1P50',
  ];
  return names.map((name) => fmt(ratio[name])).join(' | ');
}

function inFlightCell(f: BenchFlags): string {
  const create = f.arrivalRate !== null ? `${f.arrivalRate}/s open` : String(f.concurrency);
  return f.paymentDelaySec !== null ? `${create}, paid ${f.paymentDelaySec} s later` : create;
}

function loadDescription(f: BenchFlags): string {
  const creates =
    f.arrivalRate !== null ? `creates sent at ${f.arrivalRate}/s (open loop)` : `creates at C in flight (closed loop)`;
  const payments =
    f.paymentDelaySec !== null
      ? `each paid ${f.paymentDelaySec} s after its create, overlapping them`
      : 'then paid at C in flight';
  return `${creates}, ${payments}`;
}

function latencies(...values: Array<number | null>): string {
  return values.map((value) => fmt(value)).join('/');
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
  if (env.length > 0) {
    const shared = env.some(([key]) => (WORKER_SETTING_VARIABLES as readonly string[]).includes(key));
    parts.push(
      `service env ${env.map(([key, value]) => `${key}=${value}`).join(', ')}${shared ? " (its worker settings the empty floor's worker's too)" : ''}`,
    );
  }
  if (f.appRuntime === 'tsx') parts.push('service and floor processes through tsx');
  return parts.length > 0 ? `; ${parts.join('; ')}` : '';
}

function temporalDescription(f: BenchReport['flags']): string {
  if (f.temporal === 'cluster')
    return `Temporal cluster on PostgreSQL (${f.historyHosts} history host${f.historyHosts === 1 ? '' : 's'}, 4 shards)`;
  return `Temporal dev server ${f.temporal === 'file' ? 'with a SQLite file' : 'in memory'}`;
}
