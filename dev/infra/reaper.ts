import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Writable } from 'node:stream';

/**
 * A detached watchdog told over a pipe which process groups its owner (the fault suite, the bench)
 * started. If the owner dies without cleaning up (SIGKILL, a crash, a CI timeout), the pipe closes:
 * the watchdog kills those groups and removes the owner's temporary folder.
 */
export interface Reaper {
  track(pid: number): void;
  forget(pid: number): void;
  end(): void;
}

export function startReaper(tempDir: string): Reaper {
  const script = `
    const groups = new Set();
    let pending = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => {
      const lines = (pending + chunk).split('\\n');
      pending = lines.pop();
      for (const line of lines) {
        if (line[0] === '+') groups.add(Number(line.slice(1)));
        else groups.delete(Number(line.slice(1)));
      }
    });
    process.stdin.on('end', () => {
      for (const pid of groups) { try { process.kill(-pid, 'SIGKILL'); } catch {} }
      require('node:fs').rmSync(process.argv[1], { recursive: true, force: true });
    });`;
  const child = spawnWatchdog(process.execPath, ['-e', script, tempDir]);
  return {
    track: (pid) => child.stdin.write(`+${pid}\n`),
    forget: (pid) => child.stdin.write(`-${pid}\n`),
    end: () => child.stdin.end(),
  };
}

/**
 * A detached child that outlives its owner and reads its stdin: the owner's end of the pipe
 * closes when the owner ends (cleanly or not), which is the child's cue to clean up. Neither the
 * child nor its pipe keeps the owner from exiting.
 */
export function spawnWatchdog(command: string, args: string[]): ChildProcessByStdio<Writable, null, null> {
  const child = spawn(command, args, { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  child.on('error', () => undefined);
  child.stdin.on('error', () => undefined);
  child.unref();
  (child.stdin as unknown as { unref(): void }).unref();
  return child;
}
