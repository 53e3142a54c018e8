import path from 'node:path';
import { loadConfigOrExit } from '../../src/config';
import { findJemalloc } from '../infra/allocator';
import { buildApps, startAppProcess, runAppScript, type AppProcess } from '../infra/app-process';
import { describeExit } from '../infra/managed-process';
import { findOnPath } from '../../src/tools/go-binary';
import { defaultDataDir, REPO_ROOT } from '../infra/data-dir';
import { ensureInfrastructure, type Infrastructure } from '../infra/ensure-infrastructure';
import { readyBanner } from '../infra/ready-banner';
import { createLogger } from '../../src/logger';
import { runMain, stopOnSignals } from '../../src/process-lifecycle';

/**
 * `npm start`: infrastructure, migrations, the demo catalogue and the four processes, on defaults
 * that work on a developer's machine. Ctrl-C stops what this run started and nothing else.
 * `npm start -- --cluster` (or TEMPORAL_LOCAL_SERVER=cluster) runs a Temporal cluster instead of the dev
 * server: separate frontend, history, matching and worker processes on PostgreSQL (README).
 */

const APPS = [
  { name: 'worker', script: 'src/worker/main.ts' },
  { name: 'gateway', script: 'src/gateway/main.ts' },
  { name: 'products', script: 'src/products/main.ts' },
  { name: 'payments', script: 'src/payments/main.ts' },
];
const PREFIX_WIDTH = Math.max(...APPS.map((app) => app.name.length));
const QUIET_LEVELS = new Set(['warn', 'error', 'fatal', 'silent']);

// Set before the configuration is read, so the processes started below see the same profile.
if (process.argv.slice(2).includes('--cluster')) process.env.TEMPORAL_LOCAL_SERVER = 'cluster';
const config = loadConfigOrExit();
const logger = createLogger('start', config.logLevel);
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

let infra: Infrastructure | undefined;
const children: AppProcess[] = [];
let stopping = false;
let stopped: Promise<void> | undefined;

/** Once, whoever asks first (a signal, a dying child, a failed start); later callers wait for it. */
function stopAll(): Promise<void> {
  stopping = true;
  stopped ??= stopEverything();
  return stopped;
}

/** Children first (they use the services), then the services this run started; reused ones stay. */
async function stopEverything(): Promise<void> {
  await Promise.all(children.map((child) => child.stop()));
  for (const service of [...(infra?.started ?? [])].reverse()) {
    await service.stop();
    say(`${service.name.padEnd(12)} stopped`);
  }
  if (!infra) say('Interrupted while starting services: "npm run infra -- stop" stops any it had started.');
}

async function main(): Promise<void> {
  stopOnSignals(logger, stopAll);
  try {
    infra = await ensureInfrastructure({ dataDir: defaultDataDir(), log: say });
    if (stopping) return;
    // The processes announce readiness with an info-level line, so they must log at least that.
    const env = {
      ...process.env,
      ...(QUIET_LEVELS.has(config.logLevel) ? { LOG_LEVEL: 'info' } : {}),
      TEMPORAL_WORKFLOW_BUNDLE: path.join(defaultDataDir(), 'workflow-bundle.js'),
    };
    if (findJemalloc() === undefined) {
      say('jemalloc is not installed (Debian: apt-get install libjemalloc2): the worker will hold ~30 MB more.');
    }
    // The processes run compiled, as the Docker image runs them (app-process.ts says why).
    await buildApps({ name: 'build', cwd: REPO_ROOT, env, prefixWidth: PREFIX_WIDTH });
    if (stopping) return;
    const appOptions = { cwd: REPO_ROOT, env, prefixWidth: PREFIX_WIDTH, runtime: 'compiled' } as const;
    await runAppScript({ ...appOptions, name: 'seed', script: 'src/products/seed.ts' });
    if (stopping) return;
    // Built fresh on every start, so the worker never runs a stale bundle and never runs webpack.
    await runAppScript({ ...appOptions, name: 'bundle', script: 'src/scripts/bundle-workflows.ts' });
    if (stopping) return;

    for (const app of APPS) {
      const child = startAppProcess({ ...app, ...appOptions });
      children.push(child);
      void child.exited.then((status) => {
        if (stopping) return;
        say(`${app.name} exited unexpectedly (${describeExit(status)}): stopping everything`);
        void stopAll().finally(() => process.exit(1));
      });
    }
    await Promise.all(children.map((child) => child.ready));
    if (stopping) return;
    say('');
    say(readyBanner(await bannerInput(infra)));
  } catch (error) {
    // Failures caused by a stop already under way are not failures: its owner decides the exit code.
    const alreadyStopping = stopping;
    await stopAll();
    if (alreadyStopping) return;
    throw error;
  }
}

async function bannerInput(up: Infrastructure): Promise<Parameters<typeof readyBanner>[0]> {
  const onPath = await findOnPath('temporal');
  const flags: string[] = [];
  if (!['127.0.0.1:7233', 'localhost:7233'].includes(up.temporalAddress)) flags.push('--address', up.temporalAddress);
  if (config.temporal.namespace !== 'default') flags.push('--namespace', config.temporal.namespace);
  return {
    temporalUiUrl: up.temporalUiUrl,
    paymentsUrl: config.payments.publicUrl,
    temporalCommand: onPath === up.temporalBinary ? 'temporal' : up.temporalBinary,
    temporalFlags: flags,
    logDir: path.relative(process.cwd(), path.join(defaultDataDir(), 'logs')) || '.',
  };
}

runMain(logger, main);
