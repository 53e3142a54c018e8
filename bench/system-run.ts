import { availableParallelism } from 'node:os';
import type { Client } from '@temporalio/client';
import type { NatsConnection } from 'nats';
import type { BenchFlags, SystemId } from './flags';
import { emptyWorkflowId, FLOOR_SUBJECTS } from './floors/subjects';
import { historyStats, spread, type HistoryStats } from './history-stats';
import { createPhase, payPhase, type LoadContext, type OrderFactory, type PhaseResult, type Target } from './load';
import { PaidPoller } from './paid-poller';
import { cpuDelta, machineBusyMs, type ProcessTrees } from './proc-stats';
import { SYSTEM_PROCESSES } from './stack';
import { round } from './stats';

/** One system measured the same way as the others: warm-up, then the four phases, each with its CPU. */

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
};

/** Orders created and paid before the measured phases (JIT, connection pools, workflow bundles). */
export const WARMUP_ORDERS = 20;
export const HISTORY_SAMPLE = 20;
export const POLL_INTERVAL_MS = 2;

export interface PhaseCpu {
  /** CPU milliseconds of each process tree during the phase. */
  totalMs: Record<string, number>;
  /** The same per successful order of the phase. */
  perOrderMs: Record<string, number>;
  /** Sum over the processes that do this system's work (SYSTEM_PROCESSES). */
  systemPerOrderMs: number | null;
  /**
   * CPU the machine spent outside every process the bench watches, as a share of all cores over
   * the phase: other work on a noisy machine, which the phase competed with.
   */
  outsideShare: number;
}

export interface SystemResult {
  system: SystemId;
  label: string;
  processes: string[];
  create: PhaseResult;
  pay: PhaseResult;
  createAt1: PhaseResult | null;
  payAt1: PhaseResult;
  cpu: { create: PhaseCpu; pay: PhaseCpu; createAt1: PhaseCpu | null; payAt1: PhaseCpu };
  poller: ReturnType<PaidPoller['stats']>;
  history: HistoryStats | null;
}

export interface SystemRunDeps {
  nc: NatsConnection;
  temporal: Client;
  trees: ProcessTrees;
  databaseUrl: string;
  orders: OrderFactory;
  runId: string;
  log: (line: string) => void;
}

export async function runSystem(system: SystemId, flags: BenchFlags, deps: SystemRunDeps): Promise<SystemResult> {
  const definition = SYSTEMS[system];
  const label =
    system === 'empty' && flags.emptyActivities === 'local'
      ? `${definition.label} (local activities)`
      : definition.label;
  const poller = new PaidPoller(deps.databaseUrl, POLL_INTERVAL_MS);
  await poller.start();
  const ctx: LoadContext = {
    nc: deps.nc,
    target: definition.target,
    orders: deps.orders,
    poller,
    progress: deps.log,
    runId: deps.runId,
  };
  const processes = SYSTEM_PROCESSES[system];
  try {
    const warm = await createPhase(ctx, Math.min(WARMUP_ORDERS, flags.orders), flags.concurrency);
    await payPhase(ctx, warm.orderIds, flags.concurrency);
    deps.log(`${system}: warmed up with ${warm.orderIds.length} orders`);
    poller.resetStats();

    const measure = async <T extends { result: PhaseResult }>(
      run: () => Promise<T>,
    ): Promise<T & { cpu: PhaseCpu }> => {
      const before = deps.trees.sample();
      const machineBefore = machineBusyMs();
      const outcome = await run();
      const delta = cpuDelta(before, deps.trees.sample());
      const outsideMs = machineBusyMs() - machineBefore - Object.values(delta).reduce((sum, ms) => sum + ms, 0);
      const capacityMs = outcome.result.wallMs * availableParallelism();
      const cpu = phaseCpu(
        delta,
        outcome.result.succeeded,
        processes,
        capacityMs > 0 ? Math.max(0, outsideMs) / capacityMs : 0,
      );
      deps.log(
        `${system} ${outcome.result.phase} @${outcome.result.inFlight}: ${describePhase(outcome.result)}, ` +
          `CPU ${cpu.systemPerOrderMs ?? '-'} ms/order, other load ${Math.round(cpu.outsideShare * 100)}% of the machine`,
      );
      return { ...outcome, cpu };
    };

    const create = await measure(() => createPhase(ctx, flags.orders, flags.concurrency));
    // Paid one at a time later: created now, outside every measured phase.
    const extra = await createPhase(ctx, flags.serialPayments, flags.concurrency);
    const pay = await measure(() => payPhase(ctx, create.orderIds, flags.concurrency));
    const payAt1 = await measure(() => payPhase(ctx, extra.orderIds, 1));
    const createAt1 = flags.serialOrders > 0 ? await measure(() => createPhase(ctx, flags.serialOrders, 1)) : null;

    let history: HistoryStats | null = null;
    if (definition.workflowId) {
      const ids = spread(pay.paidIds, HISTORY_SAMPLE).map(definition.workflowId);
      history = await historyStats(deps.temporal, ids);
    }
    return {
      system,
      label,
      processes,
      create: create.result,
      pay: pay.result,
      createAt1: createAt1?.result ?? null,
      payAt1: payAt1.result,
      cpu: { create: create.cpu, pay: pay.cpu, createAt1: createAt1?.cpu ?? null, payAt1: payAt1.cpu },
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
): PhaseCpu {
  const perOrderMs: Record<string, number> = {};
  for (const [name, ms] of Object.entries(totalMs)) if (orders > 0) perOrderMs[name] = round(ms / orders, 2);
  const systemMs = processes.reduce((sum, name) => sum + (totalMs[name] ?? 0), 0);
  return {
    totalMs: Object.fromEntries(Object.entries(totalMs).map(([name, ms]) => [name, round(ms)])),
    perOrderMs,
    systemPerOrderMs: orders > 0 ? round(systemMs / orders, 2) : null,
    outsideShare: round(outsideShare, 3),
  };
}

export function describePhase(result: PhaseResult): string {
  const errors = Object.entries(result.errors)
    .map(([kind, count]) => `${kind}×${count}`)
    .join(' ');
  const latency = result.latencyMs;
  return `${result.succeeded}/${result.attempted} in ${(result.wallMs / 1000).toFixed(1)} s = ${result.perSecond}/s, p50 ${latency.p50} p99 ${latency.p99} max ${latency.max} ms${errors ? `, errors ${errors}` : ''}`;
}
