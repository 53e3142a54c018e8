import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isAlive } from './process-alive';
import { argvOf } from './managed-process';
import { SERVICE_TABLE } from './service-table';

/** What each service's process is called, to check that a pid from a file is still that service. */
export const SERVICE_EXECUTABLES: Record<string, string> = {
  temporal: 'temporal',
  nats: 'nats-server',
  postgres: 'postgres',
  'stripe-mock': 'stripe-mock',
  // The cluster profile: one process a node, and the standalone Web UI.
  ...Object.fromEntries(
    ['frontend', 'matching', 'worker', ...Array.from({ length: 9 }, (_, n) => `history-${n + 1}`)].map((node) => [
      `temporal-${node}`,
      'temporal-server',
    ]),
  ),
  'temporal-ui': 'temporal-ui-server',
};

/** How each service wants to be stopped, as the table says (PostgreSQL: SIGINT is its fast shutdown). */
export const SERVICE_STOP_SIGNALS: Record<string, NodeJS.Signals> = Object.fromEntries(
  Object.entries(SERVICE_TABLE).flatMap(([name, spec]) => (spec.stopSignal ? [[name, spec.stopSignal]] : [])),
);

export function pidDir(dataDir: string): string {
  return path.join(dataDir, 'pids');
}

export function writePidFile(dataDir: string, name: string, pid: number): void {
  mkdirSync(pidDir(dataDir), { recursive: true });
  writeFileSync(path.join(pidDir(dataDir), `${name}.pid`), `${pid}\n`);
}

export function removePidFile(dataDir: string, name: string): void {
  rmSync(path.join(pidDir(dataDir), `${name}.pid`), { force: true });
}

/** A service recorded in the data folder, and whether that pid still runs that service. */
export interface RecordedService {
  name: string;
  pid: number;
  running: boolean;
}

export function readPidFiles(dataDir: string): RecordedService[] {
  let files: string[];
  try {
    files = readdirSync(pidDir(dataDir)).filter((file) => file.endsWith('.pid'));
  } catch {
    return [];
  }
  return files.flatMap((file) => {
    const name = file.slice(0, -'.pid'.length);
    const pid = Number.parseInt(readFileSync(path.join(pidDir(dataDir), file), 'utf8'), 10);
    if (!Number.isInteger(pid) || pid <= 0) return [{ name, pid: 0, running: false }];
    return [{ name, pid, running: isRunningAs(pid, SERVICE_EXECUTABLES[name] ?? name) }];
  });
}

/** Guards against pid reuse: after a reboot the number may belong to something else entirely. */
function isRunningAs(pid: number, executable: string): boolean {
  if (!isAlive(pid)) return false;
  const program = argvOf(pid)?.[0];
  return program !== undefined && path.basename(program) === executable;
}
