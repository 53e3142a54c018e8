import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { parseConfig } from '../src/config';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { OPEN_LOOP_CAP_SECONDS, parseFlags, type BenchFlags, type SystemId } from './flags';
import { FLOOR_PAYMENT_PARALLELISM } from './floors/floor-process';
import { DEADLINE_MS, OrderFactory } from './load';
import { runMemory, type MemoryReport } from './memory-run';
import { measureOrderCalls, type OrderCallsResult } from './order-calls';
import { markdownReport, summarizeRuns, type BenchReport } from './report';
import { Sampler } from './sampler';
import { REPO_ROOT, startStack, type Stack } from './stack';
import { alternationOrder, round } from './stats';
import { svgChart } from './svg';
import { HISTORY_SAMPLE, POLL_INTERVAL_MS, runSystem, WARMUP_ORDERS, type SystemResult } from './system-run';

/**
 * `npm run bench`: starts a private copy of the whole system, measures this service and two floors
 * (the seed's design without Temporal; an empty workflow of the same shape) under the same load,
 * runs a memory run, writes JSON, Markdown and SVG results, and stops everything it started.
 * Progress goes to stderr; the Markdown table to stdout at the end.
 */

const log = (line: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

async function main(): Promise<number> {
  let flags: BenchFlags;
  try {
    flags = parseFlags(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  const startedAt = new Date();
  const loadAtStart = os.loadavg().map((value) => round(value, 2));
  const stamp = startedAt
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const runId = stamp.toLowerCase();
  const hosts = flags.temporal === 'cluster' && flags.historyHosts !== 2 ? `-h${flags.historyHosts}` : '';
  const mode = `${flags.temporal}${hosts}${flags.untuned ? '-untuned' : ''}${flags.emptyActivities === 'local' ? '-local' : ''}${flags.keyless ? '-keyless' : ''}`;
  // Result files of a run with replicas or another load are told apart by name, and do not replace the default chart.
  const loadMode = `${flags.arrivalRate !== null ? `-rate${flags.arrivalRate}` : ''}${flags.paymentDelaySec !== null ? `-delay${flags.paymentDelaySec}` : ''}`;
  const fileMode = `${mode}${flags.replicas > 1 ? `-r${flags.replicas}` : ''}${loadMode}${flags.alternations > 1 ? `-x${flags.alternations}` : ''}`;
  const systems = (['service', 'seed', 'empty', 'empty-sa'] as const).filter((id) => flags.only.includes(id));
  const load = `${flags.arrivalRate !== null ? `, open loop at ${flags.arrivalRate}/s` : ''}${flags.paymentDelaySec !== null ? `, payments ${flags.paymentDelaySec} s after create` : ''}`;
  log(
    `C=${flags.concurrency} N=${flags.orders} M=${flags.serialOrders} K=${flags.memoryOrders} R=${flags.replicas}${load}; Temporal ${mode}; parts: ${flags.only.join(', ')}${flags.alternations > 1 ? `, ${flags.alternations} alternations` : ''}`,
  );

  let stack: Stack | undefined;
  let nats: NatsConnection | undefined;
  let temporalConnection: Connection | undefined;
  let sampler: Sampler | undefined;
  let cleaning: Promise<void> | undefined;
  const outDir = path.resolve(REPO_ROOT, flags.out);
  const base = path.join(outDir, `${stamp}-${fileMode}`);
  const cleanUp = (): Promise<void> =>
    (cleaning ??= (async () => {
      sampler?.stop();
      await nats?.close().catch(() => undefined);
      await temporalConnection?.close().catch(() => undefined);
      await stack?.close(flags.keepLogs ? `${base}-logs` : undefined);
    })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping everything`);
      void cleanUp().finally(() => process.exit(130));
    });
  }

  try {
    stack = await startStack({
      temporal: flags.temporal,
      historyHosts: flags.historyHosts,
      untuned: flags.untuned,
      dynamicConfig: flags.dynamicConfig,
      appEnv: flags.appEnv,
      appRuntime: flags.appRuntime,
      emptyActivities: flags.emptyActivities,
      cpuProfile: flags.cpuProfile,
      replicas: flags.replicas,
      floors: { seed: systems.includes('seed'), empty: systems.includes('empty') || systems.includes('empty-sa') },
      log,
    });
  } catch (error) {
    log(`the stack could not start: ${error instanceof Error ? error.message : String(error)}`);
    await cleanUp();
    return 1;
  }

  const failures: string[] = [];
  const runs: Array<Partial<Record<SystemId, SystemResult>>> = [];
  let memory: MemoryReport | null = null;
  let orderCalls: OrderCallsResult | null = null;
  try {
    nats = await connect({ servers: stack.natsUrl, name: 'orders-bench' });
    temporalConnection = await Connection.connect({ address: stack.temporalAddress });
    const temporal = new Client({ connection: temporalConnection });
    sampler = new Sampler(stack.trees);
    sampler.start();
    const orders = new OrderFactory(runId, flags.keyless);

    // Alternately on the same stack, so drift hits every system alike, in an order that changes
    // from one alternation to the next (service, empty, empty-sa; empty-sa, empty, service; empty,
    // empty-sa, service; …), so no system always follows the same one: the two empty-workflow
    // floors share their processes.
    for (let alternation = 1; alternation <= flags.alternations; alternation += 1) {
      const results: Partial<Record<SystemId, SystemResult>> = {};
      runs.push(results);
      for (const system of alternationOrder(systems, alternation)) {
        const name = flags.alternations > 1 ? `${system} (run ${alternation} of ${flags.alternations})` : system;
        log(`── ${name} ──`);
        try {
          results[system] = await runSystem(
            system,
            flags,
            {
              nats,
              temporal,
              trees: stack.trees,
              databaseUrl: stack.databaseUrls[system],
              orders,
              runId,
              log,
            },
            alternation,
          );
        } catch (error) {
          failures.push(`${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
          log(`${name} failed: ${String(error)}`);
        }
      }
    }
    if (systems.includes('service') && flags.serialOrders > 0) {
      log('── the order’s own calls, one after another ──');
      try {
        orderCalls = await measureOrderCalls({
          nats,
          databaseUrl: stack.databaseUrls.service,
          config: parseConfig(stack.serviceEnv, 'worker'),
          rounds: flags.serialOrders,
          keyless: flags.keyless,
        });
      } catch (error) {
        failures.push(`order calls: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        log(`order calls failed: ${String(error)}`);
      }
    }
    if (flags.only.includes('memory') && flags.memoryOrders > 0) {
      log('── memory run ──');
      try {
        memory = await runMemory(flags, { nats, stack, sampler, orders, runId, log });
      } catch (error) {
        failures.push(`memory run: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        log(`memory run failed: ${String(error)}`);
      }
    }
  } catch (error) {
    failures.push(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    log(`bench failed: ${String(error)}`);
  }

  const peakRssMb = Object.fromEntries(
    Object.entries(sampler?.peakRssBytes ?? {}).map(([name, bytes]) => [name, round(bytes / 1_048_576)]),
  );
  const unexpectedExits = stack.unexpectedExits();
  const environment = {
    nproc: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryTotalMb: Math.round(os.totalmem() / 1_048_576),
    loadAverageAtStart: loadAtStart,
    loadAverageAtEnd: os.loadavg().map((value) => round(value, 2)),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    temporalCli: stack.temporalVersion,
    temporalMode: flags.temporal,
    temporalArgs: stack.temporalArgs,
    dynamicConfig:
      flags.temporal === 'cluster'
        ? `cluster: ${flags.historyHosts} history hosts, 4 shards, CLUSTER_DYNAMIC_CONFIG (Temporal's defaults otherwise)`
        : flags.untuned
          ? 'CLI defaults (dynamicConfig: {}, sqlitePragmas: {})'
          : "the project's defaults (DEV_SERVER_DYNAMIC_CONFIG, DEV_SERVER_SQLITE_PRAGMAS)",
    git: gitDescription(),
  };
  log('stopping the stack');
  await cleanUp();

  const finishedAt = new Date();
  const report: BenchReport = {
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSec: Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000),
    flags,
    environment,
    method: {
      warmupOrdersPerSystem: WARMUP_ORDERS,
      deadlineMs: DEADLINE_MS,
      paidPollIntervalMs: POLL_INTERVAL_MS,
      historySamplePerSystem: HISTORY_SAMPLE,
      floorPaymentParallelism: FLOOR_PAYMENT_PARALLELISM,
      memoryWindow: flags.paymentDelaySec !== null ? null : flags.concurrency * 5,
      cpu: "/proc utime+stime(+cutime+cstime) of each process tree, before and after each phase; the bench process (process.cpuUsage()) and the PAID poller's PostgreSQL backend (/proc of pg_backend_pid(), taken out of postgres) apart, never in a system's sum",
      openLoopInFlightCapSeconds: OPEN_LOOP_CAP_SECONDS,
      billableActions: 'bench/billable-actions.ts, after https://docs.temporal.io/cloud/actions',
      rss: '/proc RSS of each process tree, sampled every second',
    },
    runtimes: stack.runtimes,
    runs,
    ...summarizeRuns(runs),
    memory,
    orderCalls,
    peakRssMb,
    failures,
    unexpectedExits,
  };

  const replicas = flags.replicas > 1 ? `, worker and gateway ×${flags.replicas}` : '';
  const title = `Orders bench ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, Temporal ${mode}${replicas}${load}${flags.alternations > 1 ? `, medians of ${flags.alternations} alternations` : ''}`;
  const markdown = markdownReport(report, title);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdown);
  writeFileSync(`${base}.svg`, svgChart(report, title));
  log(`wrote ${path.relative(process.cwd(), base)}.{json,md,svg}`);
  // The docs' chart is a full run's: not a smoke run, one without a floor, or one with A/B settings.
  const fullRun = systems.length === 4;
  const abSettings =
    Object.keys(flags.dynamicConfig).length + Object.keys(flags.appEnv).length > 0 ||
    flags.appRuntime !== 'compiled' ||
    flags.arrivalRate !== null ||
    flags.paymentDelaySec !== null;
  if (!flags.quick && fullRun && !abSettings) {
    const latest = path.join(REPO_ROOT, 'docs', 'img', `bench-latest-${fileMode}.svg`);
    mkdirSync(path.dirname(latest), { recursive: true });
    copyFileSync(`${base}.svg`, latest);
    log(`copied the chart to ${path.relative(process.cwd(), latest)}`);
  }
  process.stdout.write(markdown);
  return 0;
}

function gitDescription(): { commit: string; dirty: boolean } | null {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--', 'src'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    }).trim();
    return { commit, dirty: status.length > 0 };
  } catch {
    return null;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
