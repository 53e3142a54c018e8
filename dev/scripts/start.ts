import path from 'node:path';
import { loadConfigOrExit } from '../../src/config';
import { parsedOrExit } from '../../src/config/env';
import { parseDevConfig } from '../config';
import { findJemalloc } from '../infra/allocator';
import { buildApps, runAppScript } from '../infra/app-process';
import { findOnPath } from '../../src/tools/go-binary';
import { REPO_ROOT } from '../infra/data-dir';
import { MissingPrerequisiteError, requirePrerequisites, startPrerequisites } from '../infra/prerequisites';
import { readyBanner } from '../infra/ready-banner';
import { SERVICE_APPS, startStack, type Stack } from '../infra/stack';
import { createLogger } from '../../src/logger';
import { runMain, stopOnSignals } from '../../src/process-lifecycle';

/**
 * `npm start`: the stack launcher (dev/infra/stack.ts) on the configured addresses: infrastructure,
 * migrations, the demo catalogue and the four processes, on defaults that work on a developer's
 * machine. Ctrl-C stops what this run started and nothing else.
 * `npm start -- --cluster` (or TEMPORAL_LOCAL_SERVER=cluster) runs a Temporal cluster instead of the dev
 * server: separate frontend, history, matching and worker processes on PostgreSQL (README).
 */

// Set before the configuration is read, so the processes started below see the same profile.
if (process.argv.slice(2).includes('--cluster')) process.env.TEMPORAL_LOCAL_SERVER = 'cluster';
const config = loadConfigOrExit();
const dev = parsedOrExit(() => parseDevConfig(process.env, config));
const logger = createLogger('start', config.logLevel);
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const interrupted = new AbortController();
let starting: Promise<Stack> | undefined;
let stopped: Promise<void> | undefined;

/** Once, whoever asks first (a signal, a dying app, a failed start); later callers wait for it. */
function stopAll(): Promise<void> {
  stopped ??= (async () => {
    // A start under way stops what it had started itself and rejects.
    interrupted.abort();
    const stack = await starting?.catch(() => undefined);
    await stack?.stop();
  })();
  return stopped;
}

async function main(): Promise<void> {
  // Longer than each app's own SHUTDOWN_TIMEOUT_MS: the stack stops the apps, then the infrastructure it started.
  stopOnSignals(logger, 4 * config.shutdownTimeoutMs, stopAll);
  const cluster = dev.temporal.profile === 'cluster';
  const needed = await startPrerequisites({
    natsUrl: config.nats.url,
    databaseUrl: config.databaseUrl,
    stripeApiBase: config.stripe.apiBase,
    cluster,
  });
  await requirePrerequisites(needed).catch((error: unknown) => {
    if (!(error instanceof MissingPrerequisiteError)) throw error;
    // What to install, and nothing else: nothing has started yet.
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  });
  starting = startStack({
    services: 'configured',
    temporal: cluster ? 'cluster' : 'file',
    dir: dev.dataDir,
    log: say,
    signal: interrupted.signal,
    // The processes run compiled, as the Docker image runs them (app-process.ts says why).
    appRuntime: 'compiled',
    appEnv: { TEMPORAL_WORKFLOW_BUNDLE: path.join(dev.dataDir, 'workflow-bundle.js') },
    apps: async (stack) => {
      if (findJemalloc() === undefined) {
        say('jemalloc is not installed (Debian: apt-get install libjemalloc2): the worker will hold ~30 MB more.');
      }
      const options = { cwd: REPO_ROOT, env: stack.env, prefixWidth: 8, runtime: 'compiled' } as const;
      await buildApps({ ...options, name: 'build' });
      await runAppScript({ ...options, name: 'seed', script: 'src/products/seed.ts' });
      // Built fresh on every start, so the worker never runs a stale bundle and never runs webpack.
      await runAppScript({ ...options, name: 'bundle', script: 'src/scripts/bundle-workflows.ts' });
      return SERVICE_APPS;
    },
    onUnexpectedExit: (message) => {
      if (stopped) return;
      say(`${message}: stopping everything`);
      void stopAll().finally(() => process.exit(1));
    },
  });
  let stack: Stack;
  try {
    stack = await starting;
  } catch (error) {
    // Failures caused by a stop already under way are not failures: its owner decides the exit code.
    if (stopped) return;
    throw error;
  }
  say('');
  say(readyBanner(await bannerInput(stack)));
}

async function bannerInput(up: Stack): Promise<Parameters<typeof readyBanner>[0]> {
  const onPath = await findOnPath('temporal');
  const flags: string[] = [];
  if (!['127.0.0.1:7233', 'localhost:7233'].includes(up.temporalAddress)) flags.push('--address', up.temporalAddress);
  if (config.temporal.namespace !== 'default') flags.push('--namespace', config.temporal.namespace);
  return {
    temporalUiUrl: up.temporalUiUrl ?? '',
    paymentsUrl: config.payments.publicUrl,
    temporalCommand: onPath === up.temporalBinary ? 'temporal' : up.temporalBinary,
    temporalFlags: flags,
    logDir: path.relative(process.cwd(), path.join(dev.dataDir, 'logs')) || '.',
  };
}

runMain(logger, main);
