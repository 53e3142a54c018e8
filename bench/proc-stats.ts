import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time and resident memory of whole process trees, read from /proc. A process started with tsx
 * is a tsx parent and the script's node child; PostgreSQL is a postmaster and one backend per
 * connection. So a name stands for a root pid and everything below it, or for several roots (the
 * replicas of an app) and everything below them, summed.
 *
 * CPU of a tree = utime + stime of every live process in it, plus cutime + cstime (children that
 * exited and were waited for, such as a PostgreSQL backend that disconnected). The bench itself is
 * counted without its children: every other tree hangs below it.
 */

const CLOCK_TICKS = readConf('CLK_TCK', 100);
const PAGE_BYTES = readConf('PAGESIZE', 4096);

interface ProcEntry {
  pid: number;
  ppid: number;
  /** Own and waited-for children's CPU, in clock ticks. */
  ticks: number;
  ownTicks: number;
  rssBytes: number;
}

export interface TreeSample {
  cpuMs: number;
  rssBytes: number;
  processes: number;
}

export type Sample = Record<string, TreeSample>;

/** Named process trees to watch; `self` is the bench process alone. */
export class ProcessTrees {
  private readonly roots = new Map<string, number[]>();

  set(name: string, pid: number): void {
    this.roots.set(name, [pid]);
  }

  /** One more root under the same name (another replica): its CPU and RSS are added to the name's. */
  add(name: string, pid: number): void {
    this.roots.set(name, [...(this.roots.get(name) ?? []), pid]);
  }

  delete(name: string): void {
    this.roots.delete(name);
  }

  names(): string[] {
    return [...this.roots.keys()];
  }

  /** One reading of every tree (about a millisecond for a few hundred processes). */
  sample(): Sample {
    const table = scan();
    const children = new Map<number, number[]>();
    for (const entry of table.values()) {
      const list = children.get(entry.ppid);
      if (list) list.push(entry.pid);
      else children.set(entry.ppid, [entry.pid]);
    }
    const result: Sample = {};
    for (const [name, roots] of this.roots) {
      if (roots.includes(process.pid)) {
        const self = table.get(process.pid);
        result[name] = {
          cpuMs: self ? (self.ownTicks * 1000) / CLOCK_TICKS : 0,
          rssBytes: self?.rssBytes ?? 0,
          processes: self ? 1 : 0,
        };
        continue;
      }
      let ticks = 0;
      let rssBytes = 0;
      let processes = 0;
      const stack = [...roots];
      while (stack.length > 0) {
        const pid = stack.pop() as number;
        const entry = table.get(pid);
        if (!entry) continue;
        ticks += entry.ticks;
        rssBytes += entry.rssBytes;
        processes += 1;
        stack.push(...(children.get(pid) ?? []));
      }
      result[name] = { cpuMs: (ticks * 1000) / CLOCK_TICKS, rssBytes, processes };
    }
    return result;
  }
}

/** CPU milliseconds each tree used between two samples. */
export function cpuDelta(before: Sample, after: Sample): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [name, end] of Object.entries(after)) {
    const start = before[name];
    if (start) delta[name] = Math.max(0, end.cpuMs - start.cpuMs);
  }
  return delta;
}

/** CPU milliseconds (utime + stime) one process has used so far, or null once it is gone or unreadable. */
export function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[14 - 3]) + Number(fields[15 - 3]);
    return Number.isFinite(ticks) ? (ticks * 1000) / CLOCK_TICKS : null;
  } catch {
    return null;
  }
}

/**
 * Busy CPU of the whole machine so far (every core: user, nice, system, irq, softirq, steal), in
 * ms. Compared with the trees' sum over a phase, it shows how much else was running meanwhile.
 */
export function machineBusyMs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  const ticks = [user, nice, system, irq, softirq, steal].reduce<number>((sum, value) => sum + (value ?? 0), 0);
  return (ticks * 1000) / CLOCK_TICKS;
}

function scan(): Map<number, ProcEntry> {
  const table = new Map<number, ProcEntry>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime is field 14, so fields[11].
    const num = (field: number): number => Number(fields[field - 3]);
    const ownTicks = num(14) + num(15);
    table.set(Number(name), {
      pid: Number(name),
      ppid: num(4),
      ownTicks,
      ticks: ownTicks + num(16) + num(17),
      rssBytes: num(24) * PAGE_BYTES,
    });
  }
  return table;
}

function readConf(name: string, fallback: number): number {
  try {
    const value = Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim());
    return Number.isFinite(value) && value > 0 ? value : fallback;
  } catch {
    return fallback;
  }
}
