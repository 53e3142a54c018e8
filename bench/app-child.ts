import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { appCommand, type AppRuntime } from '../dev/infra/app-process';
import type { ExitStatus } from '../dev/infra/managed-process';

/**
 * A process of the bench's (an app of the service or a floor), its output going to a log file
 * rather than the terminal: the bench's stdout is for its results. Like the app launcher of
 * `npm start`, it is ready at its `"msg":"ready"` JSON log line.
 */
export interface AppChild {
  name: string;
  pid: number;
  logFile: string;
  ready: Promise<void>;
  exited: Promise<ExitStatus>;
  exitStatus(): ExitStatus | undefined;
  /** SIGTERM, then SIGKILL of the whole process group after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

export interface AppChildOptions {
  name: string;
  /** A TypeScript entry point, relative to `cwd` (the repository's root). */
  script: string;
  runtime: AppRuntime;
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  readyTimeoutMs?: number;
  /** Options for node itself, before the script (e.g. `--cpu-prof`). */
  nodeArgs?: readonly string[];
  /** The compiled script to run instead of `npm run build`'s (`dist/…`), when `runtime` is compiled (the floors'). */
  compiledScript?: string;
}

export function startAppChild(options: AppChildOptions): AppChild {
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const { command, args } =
    options.runtime === 'compiled' && options.compiledScript !== undefined
      ? { command: process.execPath, args: [...(options.nodeArgs ?? []), options.compiledScript] }
      : appCommand(options.script, options.runtime, options.nodeArgs);
  // Its own process group, so a Ctrl-C reaches only the bench, which stops it in order.
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.on('error', () => undefined);
  let status: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => {
      status = { code, signal };
      resolve(status);
    });
    child.once('error', () => resolve((status = { code: null, signal: null })));
  });

  let markReady: () => void = () => undefined;
  const readyLine = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      // The pipes may still hold lines when stop() has ended the log: those are dropped.
      if (!log.writableEnded) log.write(`${line}\n`);
      if (line.includes('"ready"') && isReadyLine(line)) markReady();
    });
  }
  const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
  const ready = Promise.race([
    readyLine,
    exited.then((exit) => {
      throw new Error(
        `${options.name} exited (code ${exit.code}, signal ${exit.signal}) before it was ready; see ${options.logFile}`,
      );
    }),
    delay(readyTimeoutMs, undefined, { ref: false }).then(() => {
      throw new Error(`${options.name} did not log "ready" within ${readyTimeoutMs} ms; see ${options.logFile}`);
    }),
  ]);
  ready.catch(() => undefined);

  const pid = child.pid ?? 0;
  return {
    name: options.name,
    pid,
    logFile: options.logFile,
    ready,
    exited,
    exitStatus: () => status,
    async stop(timeoutMs = 15_000) {
      if (status === undefined) {
        signalGroup(pid, 'SIGTERM');
        const outcome = await Promise.race([exited, delay(timeoutMs, 'timeout' as const)]);
        if (outcome === 'timeout') signalGroup(pid, 'SIGKILL');
        await exited;
      }
      // Make sure nothing of the group (tsx's esbuild, say) stays behind.
      signalGroup(pid, 'SIGKILL');
      log.end();
    },
  };
}

function isReadyLine(line: string): boolean {
  try {
    return (JSON.parse(line) as { msg?: unknown }).msg === 'ready';
  } catch {
    return false;
  }
}

export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}
