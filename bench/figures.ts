import type { SystemId } from './flags';
import { round } from './stats';
import type { SystemResult } from './system-run';

/**
 * The figures of one run of one system as flat numbers, so that several runs (`--alternations K`)
 * reduce to medians figure by figure, and ratios service ÷ floor are taken per alternation before
 * their median is.
 */
export interface SystemFigures {
  createsPerSecond: number | null;
  createP50: number | null;
  createP95: number | null;
  createP99: number | null;
  createMax: number | null;
  paidPerSecond: number | null;
  payP50: number | null;
  payP95: number | null;
  payP99: number | null;
  payMax: number | null;
  createsPerSecondAt1: number | null;
  createAt1P50: number | null;
  createAt1P95: number | null;
  createAt1P99: number | null;
  createAt1Max: number | null;
  paidPerSecondAt1: number | null;
  payAt1P50: number | null;
  payAt1P99: number | null;
  /** The system's CPU ms per order (its own processes: never the bench's). */
  cpuCreateMs: number | null;
  cpuPayMs: number | null;
  /** Create + pay; with `--payment-delay`, the overlapped phase's. */
  cpuOrderMs: number | null;
  cpuCreateAt1Ms: number | null;
  cpuPayAt1Ms: number | null;
  /** The bench process's CPU ms per order over the same phases (load generator, PAID poller). */
  benchCpuOrderMs: number | null;
  /** The PAID poller's PostgreSQL backend, CPU ms per order over the same phases. */
  pollerBackendOrderMs: number | null;
  /** Open loop: sends per second achieved, and sends that waited at the in-flight cap. */
  sentPerSecond: number | null;
  capHits: number | null;
  /** Payment delay: most orders pending at once. */
  peakPending: number | null;
  eventsPerOrder: number | null;
  workflowTasksPerOrder: number | null;
  activitiesPerOrder: number | null;
  localActivitiesPerOrder: number | null;
  billableActionsPerOrder: number | null;
  pendingTimersPerOrder: number | null;
  /** Share of the sampled orders still open when their history was read. */
  openShare: number | null;
  billableByKind: Record<string, number>;
  /** CPU ms per order by process over the measured phases at C: `create`, `pay`, or `create+pay` overlapped. */
  processCpu: Record<string, Record<string, number>>;
}

export type RatioName =
  | 'createsPerSecond'
  | 'paidPerSecond'
  | 'cpuPerOrder'
  | 'billableActionsPerOrder'
  | 'eventsPerOrder'
  | 'createP50'
  | 'payP50'
  | 'createAt1P50'
  | 'payAt1P50';

/** This service ÷ a floor, figure by figure. */
export type Ratios = Record<RatioName, number | null>;

export function figuresOf(result: SystemResult): SystemFigures {
  const { create, pay, createAt1, payAt1, cpu, history } = result;
  const createCpu = cpu.create?.systemPerOrderMs ?? null;
  const payCpu = cpu.pay?.systemPerOrderMs ?? null;
  const orderCpu =
    cpu.createAndPay?.systemPerOrderMs ?? (createCpu !== null && payCpu !== null ? round(createCpu + payCpu, 2) : null);
  const harness = (pick: (phase: NonNullable<SystemResult['cpu']['create']>) => number | null): number | null => {
    if (cpu.createAndPay) return pick(cpu.createAndPay);
    const values = [cpu.create, cpu.pay].map((phase) => (phase ? pick(phase) : null));
    return values.some((value) => value === null) ? null : round((values[0] as number) + (values[1] as number), 2);
  };
  const processCpu: Record<string, Record<string, number>> = {};
  const phases = cpu.createAndPay ? { 'create+pay': cpu.createAndPay } : { create: cpu.create, pay: cpu.pay };
  for (const [phase, reading] of Object.entries(phases)) {
    if (!reading) continue;
    for (const name of result.processes) (processCpu[name] ??= {})[phase] = reading.perOrderMs[name] ?? 0;
  }
  return {
    createsPerSecond: create.perSecond,
    createP50: create.latencyMs.p50,
    createP95: create.latencyMs.p95,
    createP99: create.latencyMs.p99,
    createMax: create.latencyMs.max,
    paidPerSecond: pay.perSecond,
    payP50: pay.latencyMs.p50,
    payP95: pay.latencyMs.p95,
    payP99: pay.latencyMs.p99,
    payMax: pay.latencyMs.max,
    createsPerSecondAt1: createAt1?.perSecond ?? null,
    createAt1P50: createAt1?.latencyMs.p50 ?? null,
    createAt1P95: createAt1?.latencyMs.p95 ?? null,
    createAt1P99: createAt1?.latencyMs.p99 ?? null,
    createAt1Max: createAt1?.latencyMs.max ?? null,
    paidPerSecondAt1: payAt1.perSecond,
    payAt1P50: payAt1.latencyMs.p50,
    payAt1P99: payAt1.latencyMs.p99,
    cpuCreateMs: createCpu,
    cpuPayMs: payCpu,
    cpuOrderMs: orderCpu,
    cpuCreateAt1Ms: cpu.createAt1?.systemPerOrderMs ?? null,
    cpuPayAt1Ms: cpu.payAt1.systemPerOrderMs,
    benchCpuOrderMs: harness((phase) => phase.harness.benchPerOrderMs),
    pollerBackendOrderMs: harness((phase) => phase.harness.pollerBackendPerOrderMs),
    sentPerSecond: create.openLoop?.sentPerSecond ?? null,
    capHits: create.openLoop?.capHits ?? null,
    peakPending: pay.delayedPayments?.peakPending ?? null,
    eventsPerOrder: history?.eventsPerOrder ?? null,
    workflowTasksPerOrder: history?.workflowTasksPerOrder ?? null,
    activitiesPerOrder: history?.activitiesPerOrder ?? null,
    localActivitiesPerOrder: history?.localActivitiesPerOrder ?? null,
    billableActionsPerOrder: history?.billableActionsPerOrder ?? null,
    pendingTimersPerOrder: history?.pendingTimersPerOrder ?? null,
    openShare: history && history.sampled > 0 ? round(history.openWorkflows / history.sampled, 3) : null,
    billableByKind: { ...(history?.billableActionsByKindPerOrder ?? {}) },
    processCpu,
  };
}

/** The median of the numbers given (nulls left out); null when there are none. */
export function median(values: ReadonlyArray<number | null | undefined>): number | null {
  const numbers = values.filter((value): value is number => typeof value === 'number' && Number.isFinite(value));
  if (numbers.length === 0) return null;
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const value =
    sorted.length % 2 === 1
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return round(value, 3);
}

/** Figure by figure, the median over runs (a kind or process missing from a run counts as 0 there). */
export function medianFigures(runs: readonly SystemFigures[]): SystemFigures {
  const first = runs[0];
  if (!first) throw new Error('medianFigures needs at least one run');
  const result = {} as Record<string, unknown>;
  for (const key of Object.keys(first) as Array<keyof SystemFigures>) {
    if (key === 'billableByKind') {
      const kinds = new Set(runs.flatMap((run) => Object.keys(run.billableByKind)));
      result[key] = Object.fromEntries(
        [...kinds].map((kind) => [kind, median(runs.map((run) => run.billableByKind[kind] ?? 0))]),
      );
    } else if (key === 'processCpu') {
      const names = new Set(runs.flatMap((run) => Object.keys(run.processCpu)));
      result[key] = Object.fromEntries(
        [...names].map((name) => {
          const phases = new Set(runs.flatMap((run) => Object.keys(run.processCpu[name] ?? {})));
          return [
            name,
            Object.fromEntries(
              [...phases].map((phase) => [phase, median(runs.map((run) => run.processCpu[name]?.[phase] ?? 0))]),
            ),
          ];
        }),
      );
    } else result[key] = median(runs.map((run) => run[key] as number | null));
  }
  return result as unknown as SystemFigures;
}

export function ratiosBetween(service: SystemFigures, floor: SystemFigures): Ratios {
  const divide = (a: number | null, b: number | null): number | null =>
    a !== null && b !== null && b > 0 ? round(a / b, 3) : null;
  return {
    createsPerSecond: divide(service.createsPerSecond, floor.createsPerSecond),
    paidPerSecond: divide(service.paidPerSecond, floor.paidPerSecond),
    cpuPerOrder: divide(service.cpuOrderMs, floor.cpuOrderMs),
    billableActionsPerOrder: divide(service.billableActionsPerOrder, floor.billableActionsPerOrder),
    eventsPerOrder: divide(service.eventsPerOrder, floor.eventsPerOrder),
    createP50: divide(service.createP50, floor.createP50),
    payP50: divide(service.payP50, floor.payP50),
    createAt1P50: divide(service.createAt1P50, floor.createAt1P50),
    payAt1P50: divide(service.payAt1P50, floor.payAt1P50),
  };
}

export type Floor = Exclude<SystemId, 'service'>;
export const FLOORS: readonly Floor[] = ['seed', 'empty', 'empty-sa'];

/** Each alternation's ratios service ÷ floor (an alternation without both is left out). */
export function ratiosPerAlternation(
  runs: ReadonlyArray<Partial<Record<SystemId, SystemResult>>>,
): Array<Partial<Record<Floor, Ratios>>> {
  return runs.map((run) => {
    const ratios: Partial<Record<Floor, Ratios>> = {};
    const service = run.service;
    if (!service) return ratios;
    for (const floor of FLOORS) {
      const other = run[floor];
      if (other) ratios[floor] = ratiosBetween(figuresOf(service), figuresOf(other));
    }
    return ratios;
  });
}

/** The median of each ratio over the alternations. */
export function medianRatios(
  perAlternation: ReadonlyArray<Partial<Record<Floor, Ratios>>>,
): Partial<Record<Floor, Ratios>> {
  const result: Partial<Record<Floor, Ratios>> = {};
  for (const floor of FLOORS) {
    const list = perAlternation
      .map((ratios) => ratios[floor])
      .filter((ratios): ratios is Ratios => ratios !== undefined);
    const first = list[0];
    if (!first) continue;
    result[floor] = Object.fromEntries(
      (Object.keys(first) as RatioName[]).map((name) => [name, median(list.map((ratios) => ratios[name]))]),
    ) as Ratios;
  }
  return result;
}

/** The issue's CPU target: this service's CPU per paid order at most this many times floor 2's. */
export const CPU_TARGET = 1.2;

/**
 * Where this service's CPU above floor 2 goes in one alternation, against the margin the CPU target
 * leaves: the work an order must do and floor 2 never does (its PostgreSQL statements, its peers,
 * the NATS that carries their requests, the search attributes it starts with and upserts when paid),
 * and the rest (Temporal's other work, the worker and the gateway). Milliseconds per paid order.
 */
export interface CpuAboveFloor {
  floorMs: number;
  /** floorMs × (CPU_TARGET − 1): what the service may spend above floor 2 and meet the target. */
  marginMs: number;
  /** The service's CPU less floor 2's: requiredMs + restMs. */
  aboveMs: number;
  postgresMs: number;
  /** products, payments and stripe-mock (which stands in for Stripe), idle time included. */
  peersMs: number;
  natsMs: number;
  /** Floor 2 with the service's search attributes, less floor 2: their visibility writes and upsert. */
  searchAttributesMs: number;
  /** The four above. */
  requiredMs: number;
  /** What is left of the service's CPU above floor 2. */
  restMs: number;
}

const PEERS = ['products', 'payments', 'stripe-mock'];

/** A process's CPU ms per paid order over the measured phases (create + pay, or both overlapped). */
const processMs = (figures: SystemFigures, names: readonly string[]): number =>
  names.reduce(
    (sum, name) => sum + Object.values(figures.processCpu[name] ?? {}).reduce((total, ms) => total + ms, 0),
    0,
  );

/** One alternation's CpuAboveFloor; null without the service, floor 2 and floor 2 with search attributes. */
export function cpuAboveFloor(run: Partial<Record<SystemId, SystemResult>>): CpuAboveFloor | null {
  if (!run.service || !run.empty || !run['empty-sa']) return null;
  const [service, floor, withAttributes] = [run.service, run.empty, run['empty-sa']].map(figuresOf) as [
    SystemFigures,
    SystemFigures,
    SystemFigures,
  ];
  if (service.cpuOrderMs === null || floor.cpuOrderMs === null || withAttributes.cpuOrderMs === null) return null;
  const above = (names: readonly string[]) => processMs(service, names) - processMs(floor, names);
  const parts = {
    postgresMs: above(['postgres']),
    peersMs: above(PEERS),
    natsMs: above(['nats']),
    searchAttributesMs: withAttributes.cpuOrderMs - floor.cpuOrderMs,
  };
  const requiredMs = parts.postgresMs + parts.peersMs + parts.natsMs + parts.searchAttributesMs;
  const aboveMs = service.cpuOrderMs - floor.cpuOrderMs;
  const result: CpuAboveFloor = {
    floorMs: floor.cpuOrderMs,
    marginMs: floor.cpuOrderMs * (CPU_TARGET - 1),
    aboveMs,
    ...parts,
    requiredMs,
    restMs: aboveMs - requiredMs,
  };
  return Object.fromEntries(Object.entries(result).map(([key, ms]) => [key, round(ms, 2)])) as unknown as CpuAboveFloor;
}
