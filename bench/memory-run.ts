import { performance } from 'node:perf_hooks';
import type { NatsConnection } from '@nats-io/nats-core';
import type { BenchFlags } from './flags';
import { memoryRun, type MemoryCounters, type MemoryRunResult, type OrderFactory } from './load';
import { PaidPoller } from './paid-poller';
import type { Sampler } from './sampler';
import type { Stack } from './stack';
import { round } from './stats';
import { POLL_INTERVAL_MS, SYSTEMS } from './system-run';

/**
 * K orders through this service, created and paid by C callers with a bounded window of unpaid
 * orders (or each paid `--payment-delay` seconds after its create, without a window), while every
 * process's RSS is read once a second. The worker (every replica of it) is
 * restarted first, so its memory counts only this run's workflows.
 */

export const MEMORY_MILESTONES = [1_000, 2_500, 5_000, 10_000];

export interface MemoryPoint {
  tSec: number;
  created: number;
  paid: number;
  rssMb: Record<string, number>;
}

export interface MemoryReport extends MemoryRunResult {
  workerRestarted: boolean;
  /** Worker RSS (MB) at the first sample once this many orders had been created. */
  workerRssMbAt: Record<string, number | null>;
  workerPeakRssMb: number;
  peakRssMb: Record<string, number>;
  series: MemoryPoint[];
}

export async function runMemory(
  flags: BenchFlags,
  deps: {
    nats: NatsConnection;
    stack: Stack;
    sampler: Sampler;
    orders: OrderFactory;
    runId: string;
    log: (line: string) => void;
  },
): Promise<MemoryReport> {
  const { stack, sampler, log } = deps;
  log(`memory run: restarting the worker${flags.replicas > 1 ? ` (all ${flags.replicas} replicas)` : ''}`);
  await stack.restartApp('worker');
  const poller = new PaidPoller(stack.databaseUrls.service, POLL_INTERVAL_MS);
  await poller.start();
  const counters: MemoryCounters = { created: 0, paid: 0 };
  const series: MemoryPoint[] = [];
  const peak: Record<string, number> = {};
  const started = performance.now();
  const record = (sample: ReturnType<Sampler['take']>): void => {
    const rssMb: Record<string, number> = {};
    for (const [name, reading] of Object.entries(sample)) {
      rssMb[name] = round(reading.rssBytes / 1_048_576);
      peak[name] = Math.max(peak[name] ?? 0, rssMb[name]);
    }
    series.push({
      tSec: round((performance.now() - started) / 1000),
      created: counters.created,
      paid: counters.paid,
      rssMb,
    });
  };
  record(sampler.take());
  const unlisten = sampler.listen(record);
  // With a payment delay there is no window: as many orders wait as the create rate × the delay.
  const paymentDelayMs = flags.paymentDelaySec !== null ? flags.paymentDelaySec * 1000 : null;
  const window = paymentDelayMs !== null ? null : flags.concurrency * 5;
  let result: MemoryRunResult;
  try {
    result = await memoryRun(
      {
        nats: deps.nats,
        target: SYSTEMS.service.target,
        orders: deps.orders,
        poller,
        progress: log,
        runId: deps.runId,
      },
      flags.memoryOrders,
      flags.concurrency,
      window,
      counters,
      paymentDelayMs,
    );
    record(sampler.take());
  } finally {
    unlisten();
    await poller.stop();
  }
  const workerRssMbAt: Record<string, number | null> = {};
  const milestones = [
    ...new Set([...MEMORY_MILESTONES.filter((value) => value < flags.memoryOrders), flags.memoryOrders]),
  ];
  for (const milestone of milestones) {
    workerRssMbAt[String(milestone)] = series.find((point) => point.created >= milestone)?.rssMb.worker ?? null;
  }
  return {
    ...result,
    workerRestarted: true,
    workerRssMbAt,
    workerPeakRssMb: peak.worker ?? 0,
    peakRssMb: peak,
    series,
  };
}
