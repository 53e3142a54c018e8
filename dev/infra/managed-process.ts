import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { inNetns } from './netns-command';
import { isAlive } from './process-alive';

/** A background service this project started; `stop` ends it and resolves once it has exited. */
export interface ManagedProcess {
  name: string;
  pid: number;
  stop(): Promise<void>;
}

/** A service spawned by this process: also knows when it exits, so starters can fail fast. */
export interface SpawnedService extends ManagedProcess {
  logFile: string;
  exited: Promise<ExitStatus>;
  exitStatus(): ExitStatus | undefined;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnServiceOptions {
  name: string;
  command: string;
  args: string[];
  /** stdout and stderr are appended here, so a detached service keeps logging after we exit. */
  logFile: string;
  /** Survive this process exiting: the child is unref'd and never waited for. */
  detached: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
  /** PostgreSQL wants SIGINT for a fast shutdown; most others SIGTERM. */
  stopSignal?: NodeJS.Signals;
  stopTimeoutMs?: number;
  /** Run inside this network namespace (`ip netns exec`; the multi-host test bed, dev/hosts/). */
  netns?: string;
}

const DEFAULT_STOP_TIMEOUT_MS = 15_000;

/** Starts `command` in its own process group, so a Ctrl-C in the terminal reaches only its owner. */
export async function spawnService(options: SpawnServiceOptions): Promise<SpawnedService> {
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  const out = openSync(options.logFile, 'a');
  let child: ChildProcess;
  const runAs =
    options.uid !== undefined && options.gid !== undefined ? { uid: options.uid, gid: options.gid } : undefined;
  // In a namespace, `ip` enters it as root and drops to the user itself.
  const { command, args } = options.netns
    ? inNetns(options.netns, options.command, options.args, runAs)
    : { command: options.command, args: options.args };
  try {
    child = spawn(command, args, {
      detached: true,
      stdio: ['ignore', out, out],
      env: options.env ?? process.env,
      cwd: options.cwd,
      uid: options.netns ? undefined : options.uid,
      gid: options.netns ? undefined : options.gid,
    });
  } finally {
    // The child holds its own copy of the descriptor.
    closeSync(out);
  }
  const spawned = await new Promise<ChildProcess>((resolve, reject) => {
    child.once('spawn', () => resolve(child));
    child.once('error', (error) =>
      reject(new Error(`Could not start ${options.name} (${options.command}): ${error.message}`)),
    );
  });
  const pid = spawned.pid;
  if (pid === undefined) throw new Error(`Could not start ${options.name}: no pid`);
  // Later errors (a failed kill) must not crash the owner; the exit event tells what matters.
  spawned.on('error', () => undefined);

  let status: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>((resolve) => {
    spawned.once('exit', (code, signal) => {
      status = { code, signal };
      resolve(status);
    });
  });
  if (options.detached) spawned.unref();

  const stopSignal = options.stopSignal ?? 'SIGTERM';
  const stopTimeoutMs = options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (status) return;
      // An unref'd child would let the event loop empty, and this process exit, before it is gone.
      spawned.ref();
      signal(pid, stopSignal);
      const abandon = new AbortController();
      const timer = delay(stopTimeoutMs, 'timeout' as const, { signal: abandon.signal }).catch(() => undefined);
      const outcome = await Promise.race([exited, timer]);
      abandon.abort();
      if (outcome === 'timeout') {
        signal(pid, 'SIGKILL');
        await exited;
      }
    })();
    return stopping;
  };

  return { name: options.name, pid, logFile: options.logFile, exited, exitStatus: () => status, stop };
}

/** A process we only know by pid (from a pid file written by an earlier run). */
export function managedFromPid(name: string, pid: number, stopSignal: NodeJS.Signals = 'SIGTERM'): ManagedProcess {
  return { name, pid, stop: () => stopPid(pid, stopSignal) };
}

/** Signals `pid`, waits for it to go, and kills it after `timeoutMs`. */
export async function stopPid(
  pid: number,
  stopSignal: NodeJS.Signals,
  timeoutMs = DEFAULT_STOP_TIMEOUT_MS,
): Promise<void> {
  if (!isAlive(pid)) return;
  signal(pid, stopSignal);
  const deadline = Date.now() + timeoutMs;
  // Not our child, so there is no exit event to await: poll.
  while (isAlive(pid)) {
    if (Date.now() >= deadline) {
      signal(pid, 'SIGKILL');
      while (isAlive(pid)) await delay(50);
      return;
    }
    await delay(100);
  }
}

/** The argv of a running process, to check that a pid from a file is still ours. */
export function argvOf(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

/** The last lines of a log file, for an error message that says why a service did not start. */
export function tailOf(logFile: string, lines = 20): string {
  try {
    return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log output)';
  }
}

/** `code 1` or `signal SIGKILL`, for messages. */
export function describeExit(status: ExitStatus): string {
  return status.signal ? `signal ${status.signal}` : `code ${status.code}`;
}

/** An error carrying the log's tail once the service has died, so a starter stops waiting for it. */
export function exitedEarlyError(service: SpawnedService): Error | undefined {
  const status = service.exitStatus();
  if (!status) return undefined;
  return new Error(
    `${service.name} exited (${describeExit(status)}) before it was ready; last lines of ${service.logFile}:\n${tailOf(service.logFile)}`,
  );
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}
