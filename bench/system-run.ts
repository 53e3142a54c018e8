import { availableParallelism } from 'node:os';
import type { Client } from '@temporalio/client';
import type { NatsConnection } from '@nats-io/nats-core';
import type { BenchFlags, SystemId } from './flags';
import { emptyWorkflowId, FLOOR_SUBJECTS } from './floors/subjects';
import { historyStats, spread, type HistoryStats } from './history-stats';
import {
  createAndPayPhase,
  createPhase,
  payPhase,
  sendCreates,
  type CreateLoad,
  type LoadContext,
  type OrderFactory,
  type PhaseResult,
  type Target,
} from './load';
import { PaidPoller } from './paid-poller';
import { cpuDelta, machineBusyMs, processCpuMs, type ProcessTrees } from './proc-stats';
import { SYSTEM_PROCESSES } from './stack';
import { round } from './stats';

/**
 * One system measured the same way as the others: warm-up, then the four phases (the first two as
 * one with `--payment-delay`), each with its CPU, and the bench's own CPU apart.
 */

export const SYSTEMS: Record<SystemId, { label: string; target: Target; workflowId?: (orderId: string) => string }> = {
  service: {
    label: 'This service',
    target: { system: 'service', createSubject: 'orders.create', paymentSubject: 'payment.succeeded' },
    workflowId: (orderId) => `order-${orderId}`,
  },
  seed: {
    label: 'Floor 1: seed design, no Temporal',
    target: { system: 'seed', createSubject: FLOOR_SUBJECTS.seed.create, paymentSubject: FLOOR_SUBJECTS.seed.payment },
  },
  empty: {
    label: 'Floor 2: empty workflow',
    target: {
      system: 'empty',
      createSubject: FLOOR_SUBJECTS.empty.create,
      paymentSubject: FLOOR_SUBJECTS.empty.payment,
    },
    workflowId: emptyWorkflowId,
  },
  'empty-sa': {
    label: "Floor 2 with the service's search attributes",
    target: {
      system: 'empty-sa',
      createSubject: FLOOR_SUBJECTS['empty-sa'].create,
      paymentSubject: FLOOR_SUBJECTS['empty-sa'].payment,
    },
    workflowId: emptyWorkflowId,
  },
};

/** Orders created and paid before the measured phases (JIT, connection pools, workflow bundles). */
export const WARMUP_ORDERS = 20;
export const HISTORY_SAMPLE = 20;
export const POLL_INTERVAL_MS = 2;

/** The bench's own CPU over a phase: never part of a system's. */
export interface HarnessCpu {
  /** The bench process (load generator, NATS requests and publishes, the PAID poller's client): process.cpuUsage(). */
  benchMs: number;
  benchPerOrderMs: number | null;
  /** The PostgreSQL backend that answers the PAID poller's queries, taken out of `postgres`; null if unreadable. */
  pollerBackendMs: number | null;
  pollerBackendPerOrderMs: number | null;
}

export interface PhaseCpu {
  /** CPU milliseconds of each process tree during the phase (`postgres` without the PAID poller's backend). */
  totalMs: Record<string, number>;
  /** The same per successful order of the phase. */
  perOrderMs: Record<string, number>;
  /** Sum over the processes that do this system's work (SYSTEM_PROCESSES): the bench's own CPU is not in it. */
  systemPerOrderMs: number | null;
  /**
   * CPU the machine spent outside every process the bench watches, as a share of all cores over
   * the phase: other work on a noisy machine, which the phase competed with.
   */
  outsideShare: number;
  harness: HarnessCpu;
}

export interface SystemResult {
  system: SystemId;
  label: string;
  processes: string[];
  /** Which run of this system it was (1 to `--alternations`). */
  alternation: number;
  /** How the measured orders were sent. */
  load: { concurrency: number; arrivalRate: number | null; paymentDelaySec: number | null };
  create: PhaseResult;
  pay: PhaseResult;
  createAt1: PhaseResult | null;
  payAt1: PhaseResult;
  /**
   * CPU of each phase; with `--payment-delay` the creates and payments overlap and are measured as
   * one phase, `createAndPay` (per paid order), `create` and `pay` then null.
   */
  cpu: {
    create: PhaseCpu | null;
    pay: PhaseCpu | null;
    createAndPay: PhaseCpu | null;
    createAt1: PhaseCpu | null;
    payAt1: PhaseCpu;
  };
  poller: ReturnType<PaidPoller['stats']>;
  history: HistoryStats | null;
}

export interface SystemRunDeps {
  nats: NatsConnection;
  temporal: Client;
  trees: ProcessTrees;
  databaseUrl: string;
  orders: OrderFactory;
  runId: string;
  log: (line: string) => void;
}

export async function runSystem(
  system: SystemId,
  flags: BenchFlags,
  deps: SystemRunDeps,
  alternation = 1,
): Promise<SystemResult> {
  const definition = SYSTEMS[system];
  const variants =
    (system === 'empty' || system === 'empty-sa') && flags.emptyActivities === 'local' ? ['local activities'] : [];
  const label = variants.length > 0 ? `${definition.label} (${variants.join(', ')})` : definition.label;
  const poller = new PaidPoller(deps.databaseUrl, POLL_INTERVAL_MS);
  await poller.start();
  const ctx: LoadContext = {
    nats: deps.nats,
    target: definition.target,
    orders: deps.orders,
    poller,
    progress: deps.log,
    runId: deps.runId,
  };
  const processes = SYSTEM_PROCESSES[system];
  const createLoad: CreateLoad =
    flags.arrivalRate !== null
      ? { kind: 'open', perSecond: flags.arrivalRate }
      : { kind: 'closed', concurrency: flags.concurrency };
  const tag = flags.alternations > 1 ? `${system}#${alternation}` : system;
  try {
    const warm = await createPhase(ctx, Math.min(WARMUP_ORDERS, flags.orders), flags.concurrency);
    await payPhase(ctx, warm.orderIds, flags.concurrency);
    deps.log(`${tag}: warmed up with ${warm.orderIds.length} orders`);
    poller.resetStats();

    /** Runs a phase between two readings of every process tree, of the bench itself and of the poller's backend. */
    const measure = async <T>(
      run: () => Promise<T>,
      size: (outcome: T) => { orders: number; wallMs: number; phases: PhaseResult[] },
    ): Promise<{ outcome: T; cpu: PhaseCpu }> => {
      const backendPid = poller.backendPid;
      const before = deps.trees.sample();
      const machineBefore = machineBusyMs();
      const benchBefore = process.cpuUsage();
      const backendBefore = backendPid === null ? null : processCpuMs(backendPid);
      const outcome = await run();
      const bench = process.cpuUsage(benchBefore);
      const backendAfter = backendPid === null ? null : processCpuMs(backendPid);
      const delta = cpuDelta(before, deps.trees.sample());
      const outsideMs = machineBusyMs() - machineBefore - Object.values(delta).reduce((sum, ms) => sum + ms, 0);
      const { orders, wallMs, phases } = size(outcome);
      const capacityMs = wallMs * availableParallelism();
      const pollerBackendMs =
        backendBefore !== null && backendAfter !== null ? Math.max(0, backendAfter - backendBefore) : null;
      // The poller's queries are the bench's work, not the system's; the bench process is reported apart.
      if (pollerBackendMs !== null && delta.postgres !== undefined)
        delta.postgres = Math.max(0, delta.postgres - pollerBackendMs);
      delete delta.bench;
      const benchMs = (bench.user + bench.system) / 1000;
      const perOrder = (ms: number | null): number | null =>
        ms === null || orders === 0 ? null : round(ms / orders, 2);
      const cpu = phaseCpu(delta, orders, processes, capacityMs > 0 ? Math.max(0, outsideMs) / capacityMs : 0, {
        benchMs: round(benchMs),
        benchPerOrderMs: perOrder(benchMs),
        pollerBackendMs: pollerBackendMs === null ? null : round(pollerBackendMs),
        pollerBackendPerOrderMs: perOrder(pollerBackendMs),
      });
      for (const phase of phases) deps.log(`${tag} ${phase.phase}${inFlightText(phase)}: ${describePhase(phase)}`);
      deps.log(
        `${tag} ${phases.map((phase) => phase.phase).join('+')}: CPU ${cpu.systemPerOrderMs ?? '-'} ms/order, ` +
          `bench ${cpu.harness.benchPerOrderMs ?? '-'} + poller's backend ${cpu.harness.pollerBackendPerOrderMs ?? '-'} ms/order apart, ` +
          `other load ${Math.round(cpu.outsideShare * 100)}% of the machine`,
      );
      return { outcome, cpu };
    };
    const single = (outcome: { result: PhaseResult }) => ({
      orders: outcome.result.succeeded,
      wallMs: outcome.result.wallMs,
      phases: [outcome.result],
    });

    let create: PhaseResult;
    let pay: PhaseResult;
    let paidIds: string[];
    let cpuCreate: PhaseCpu | null = null;
    let cpuPay: PhaseCpu | null = null;
    let cpuBoth: PhaseCpu | null = null;
    let extra: { orderIds: string[] };
    if (flags.paymentDelaySec !== null) {
      const delayMs = flags.paymentDelaySec * 1000;
      const both = await measure(
        () => createAndPayPhase(ctx, flags.orders, createLoad, delayMs),
        (outcome) => ({ orders: outcome.pay.succeeded, wallMs: outcome.wallMs, phases: [outcome.create, outcome.pay] }),
      );
      ({ create, pay, paidIds } = both.outcome);
      cpuBoth = both.cpu;
      // Paid one at a time later: created now, outside every measured phase.
      extra = await createPhase(ctx, flags.serialPayments, flags.concurrency);
    } else {
      const created = await measure(() => sendCreates(ctx, flags.orders, createLoad), single);
      extra = await createPhase(ctx, flags.serialPayments, flags.concurrency);
      const paid = await measure(() => payPhase(ctx, created.outcome.orderIds, flags.concurrency), single);
      create = created.outcome.result;
      pay = paid.outcome.result;
      paidIds = paid.outcome.paidIds;
      cpuCreate = created.cpu;
      cpuPay = paid.cpu;
    }
    const payAt1 = await measure(() => payPhase(ctx, extra.orderIds, 1), single);
    const createAt1 =
      flags.serialOrders > 0 ? await measure(() => createPhase(ctx, flags.serialOrders, 1), single) : null;

    let history: HistoryStats | null = null;
    if (definition.workflowId) {
      const ids = spread(paidIds, HISTORY_SAMPLE).map(definition.workflowId);
      history = await historyStats(deps.temporal, ids);
    }
    return {
      system,
      label,
      processes,
      alternation,
      load: { concurrency: flags.concurrency, arrivalRate: flags.arrivalRate, paymentDelaySec: flags.paymentDelaySec },
      create,
      pay,
      createAt1: createAt1?.outcome.result ?? null,
      payAt1: payAt1.outcome.result,
      cpu: {
        create: cpuCreate,
        pay: cpuPay,
        createAndPay: cpuBoth,
        createAt1: createAt1?.cpu ?? null,
        payAt1: payAt1.cpu,
      },
      poller: poller.stats(),
      history,
    };
  } finally {
    await poller.stop();
  }
}

function phaseCpu(
  totalMs: Record<string, number>,
  orders: number,
  processes: string[],
  outsideShare: number,
  harness: HarnessCpu,
): PhaseCpu {
  const perOrderMs: Record<string, number> = {};
  for (const [name, ms] of Object.entries(totalMs)) if (orders > 0) perOrderMs[name] = round(ms / orders, 2);
  const systemMs = processes.reduce((sum, name) => sum + (totalMs[name] ?? 0), 0);
  return {
    totalMs: Object.fromEntries(Object.entries(totalMs).map(([name, ms]) => [name, round(ms)])),
    perOrderMs,
    systemPerOrderMs: orders > 0 ? round(systemMs / orders, 2) : null,
    outsideShare: round(outsideShare, 3),
    harness,
  };
}

function inFlightText(result: PhaseResult): string {
  if (result.openLoop) return ` at ${result.openLoop.targetPerSecond}/s`;
  if (result.delayedPayments) return ` ${result.delayedPayments.delayMs / 1000} s after create`;
  return ` @${result.inFlight}`;
}

export function describePhase(result: PhaseResult): string {
  const errors = Object.entries(result.errors)
    .map(([kind, count]) => `${kind}×${count}`)
    .join(' ');
  const latency = result.latencyMs;
  const open = result.openLoop
    ? `, sent ${result.openLoop.sentPerSecond}/s, ${result.openLoop.capHits} at the cap of ${result.openLoop.inFlightCap}, ${result.inFlight} in flight at most`
    : '';
  const delayed = result.delayedPayments ? `, ${result.delayedPayments.peakPending} orders pending at the peak` : '';
  return `${result.succeeded}/${result.attempted} in ${(result.wallMs / 1000).toFixed(1)} s = ${result.perSecond}/s, p50 ${latency.p50} p99 ${latency.p99} max ${latency.max} ms${open}${delayed}${errors ? `, errors ${errors}` : ''}`;
}
