import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { findJemalloc, withJemalloc } from './allocator';
import { describeExit, type ExitStatus, type ManagedProcess } from './managed-process';
import { inNetns } from './netns-command';

/**
 * How the project's own processes run. `npm start` and the bench run the JavaScript that
 * `npm run build` compiles into `dist/` (as the Docker image does): each process then carries no
 * TypeScript loader thread and no esbuild process beside it (the worker idles at 45 MB less). The
 * tests run the sources through tsx, so they never need a build.
 */
export type AppRuntime = 'compiled' | 'tsx';

/**
 * V8 options the service's processes run with, here and in the Docker image (its `ENV NODE_OPTIONS`,
 * kept equal). A young generation of 2 × 4 MB instead of V8's 2 × 16 MB per heap: under load the
 * worker (two heaps: its main thread and the SDK's workflow thread) holds ~30 MB less, for no
 * measurable CPU (docs/performance.md). Their old generations' growth is limited by `runMain` instead
 * (src/heap-growth.ts): Node refuses that flag in NODE_OPTIONS.
 */
export const APP_NODE_OPTIONS = '--max-semi-space-size=4';

/** `env` with APP_NODE_OPTIONS first in NODE_OPTIONS, so options already there still win (once: it is idempotent). */
export function withAppNodeOptions(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (env.NODE_OPTIONS?.trim().split(/\s+/).includes(APP_NODE_OPTIONS)) return env;
  const options = [APP_NODE_OPTIONS, env.NODE_OPTIONS?.trim()].filter(Boolean).join(' ');
  return { ...env, NODE_OPTIONS: options };
}

/** The environment one of the service's processes runs with: APP_NODE_OPTIONS, and jemalloc when installed. */
export function appProcessEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return withJemalloc(withAppNodeOptions(env), findJemalloc());
}

/** One of this project's own processes (worker, gateway, ...), watched by its owner. */
export interface AppProcess extends ManagedProcess {
  /** Resolves at the process's `"msg":"ready"` log line; rejects if it exits or `readyTimeoutMs` passes first. */
  ready: Promise<void>;
  exited: Promise<ExitStatus>;
  exitStatus(): ExitStatus | undefined;
  /** Where its output goes, when not to this process's terminal. */
  logFile?: string;
}

export interface AppProcessOptions {
  name: string;
  /** A TypeScript entry point, relative to `cwd` (the repository's root). */
  script: string;
  runtime: AppRuntime;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Width the name is padded to in the output prefix, so columns line up. */
  prefixWidth?: number;
  readyTimeoutMs?: number;
  stopTimeoutMs?: number;
  /** Its output goes to this file instead of this process's stdout and stderr (the bench's stdout is for its results). */
  logFile?: string;
  /** Options for node itself, before the script (e.g. `--cpu-prof`). */
  nodeArgs?: readonly string[];
  /** A compiled script to run instead of `npm run build`'s (`dist/…`) when `runtime` is compiled. */
  compiledScript?: string;
  /** Run inside this network namespace (`ip netns exec`; the multi-host test bed, dev/hosts/). */
  netns?: string;
}

/** The command that runs `script` (a TypeScript entry point, relative to the repository's root). */
export function appCommand(
  script: string,
  runtime: AppRuntime,
  nodeArgs: readonly string[] = [],
): { command: string; args: string[] } {
  if (runtime === 'tsx') return tsxCommand(script, nodeArgs);
  return { command: process.execPath, args: [...nodeArgs, compiledScript(script)] };
}

/** Where `npm run build` puts the JavaScript of `script`: `src/worker.ts` → `dist/src/worker.js`. */
function compiledScript(script: string): string {
  return path.join('dist', script.replace(/\.ts$/, '.js'));
}

/**
 * `script` run by this very node binary with tsx's loader: no npm and no tsx CLI in between, so
 * our signals reach the process itself and it carries no second Node process (~50 MB) beside it.
 */
export function tsxCommand(script: string, nodeArgs: readonly string[] = []): { command: string; args: string[] } {
  return {
    command: process.execPath,
    args: [...nodeArgs, '--import', pathToFileURL(require.resolve('tsx')).href, script],
  };
}

/**
 * Starts `script`, prefixing each output line with the process name (or writing it to `logFile`).
 * It gets its own process group, so a Ctrl-C in the terminal reaches only the owner, which stops
 * its children in order.
 */
export function startAppProcess(options: AppProcessOptions): AppProcess {
  const direct =
    options.runtime === 'compiled' && options.compiledScript !== undefined
      ? { command: process.execPath, args: [...(options.nodeArgs ?? []), options.compiledScript] }
      : appCommand(options.script, options.runtime, options.nodeArgs);
  const { command, args } = options.netns ? inNetns(options.netns, direct.command, direct.args) : direct;
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: appProcessEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.on('error', () => undefined);
  let markReady: () => void = () => undefined;
  const readyLine = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const see = (line: string): void => {
    if (isReadyLine(line)) markReady();
  };
  let logStream: ReturnType<typeof createWriteStream> | undefined;
  if (options.logFile !== undefined) {
    mkdirSync(path.dirname(options.logFile), { recursive: true });
    const file = createWriteStream(options.logFile, { flags: 'a' });
    logStream = file;
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        // The pipes may still hold lines once stop() has ended the log: those are dropped.
        if (!file.writableEnded) file.write(`${line}\n`);
        see(line);
      });
    }
  } else {
    const prefix = `${options.name.padEnd(options.prefixWidth ?? options.name.length)} |`;
    prefixLines(child.stdout, prefix, process.stdout, see);
    prefixLines(child.stderr, prefix, process.stderr, see);
  }

  let status: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => resolve((status = { code, signal })));
    child.once('error', () => resolve((status ??= { code: null, signal: null })));
  });
  const seeLog = options.logFile !== undefined ? `; see ${options.logFile}` : '';
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const ready = Promise.race([
    readyLine,
    exited.then((exit) => {
      throw new Error(`${options.name} exited (${describeExit(exit)}) before it was ready${seeLog}`);
    }),
    delay(readyTimeoutMs, undefined, { ref: false }).then(() => {
      throw new Error(`${options.name} did not log "ready" within ${readyTimeoutMs} ms${seeLog}`);
    }),
  ]);
  // The owner awaits `ready`; this keeps a rejection after a successful start from going unhandled.
  ready.catch(() => undefined);

  const pid = child.pid ?? 0;
  return {
    name: options.name,
    pid,
    ready,
    exited,
    exitStatus: () => status,
    logFile: options.logFile,
    stop: async () => {
      await stopChild(child, exited, options.stopTimeoutMs ?? 15_000);
      // tsx runs the script in a child of its own: nothing of the group may stay behind.
      signalGroup(pid, 'SIGKILL');
      logStream?.end();
    },
  };
}

/** Signals a whole process group; one that is already gone is fine. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

function prefixLines(stream: Readable, prefix: string, out: NodeJS.WriteStream, onLine: (line: string) => void): void {
  createInterface({ input: stream }).on('line', (line) => {
    out.write(`${prefix} ${line}\n`);
    onLine(line);
  });
}

function isReadyLine(line: string): boolean {
  if (!line.includes('"ready"')) return false;
  try {
    return (JSON.parse(line) as { msg?: unknown }).msg === 'ready';
  } catch {
    return false;
  }
}

async function stopChild(child: ChildProcess, exited: Promise<ExitStatus>, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const abandon = new AbortController();
  const timer = delay(timeoutMs, 'timeout' as const, { signal: abandon.signal }).catch(() => undefined);
  const outcome = await Promise.race([exited, timer]);
  abandon.abort();
  if (outcome === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
}

type OneShotOptions = Omit<AppProcessOptions, 'readyTimeoutMs' | 'stopTimeoutMs'>;
/** Where a one-shot command runs and how its output is prefixed. */
type PrefixedRunOptions = Pick<OneShotOptions, 'name' | 'cwd' | 'env' | 'prefixWidth'>;

/** Runs a one-shot script (such as the catalogue seed) with prefixed output; rejects unless it exits 0. */
export async function runAppScript(options: OneShotOptions): Promise<void> {
  const { command, args } = appCommand(options.script, options.runtime);
  await runPrefixed(command, args, options.script, options);
}

/** `npm run build`: the `dist/` that the compiled runtime runs (esbuild, under a second: dev/scripts/build.ts). */
export async function buildApps(options: PrefixedRunOptions): Promise<void> {
  await runPrefixed('npm', ['run', '--silent', 'build'], 'npm run build', options);
}

async function runPrefixed(
  command: string,
  args: readonly string[],
  what: string,
  options: PrefixedRunOptions,
): Promise<void> {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = `${options.name.padEnd(options.prefixWidth ?? options.name.length)} |`;
  prefixLines(child.stdout, prefix, process.stdout, () => undefined);
  prefixLines(child.stderr, prefix, process.stderr, () => undefined);
  const status = await new Promise<ExitStatus>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  if (status.code !== 0) throw new Error(`${what} failed (${describeExit(status)})`);
}
