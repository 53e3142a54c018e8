import { spawn } from 'node:child_process';

/**
 * A detached watchdog told over a pipe which process groups the bench started. If the bench dies
 * without cleaning up (SIGKILL, a crash), the pipe closes: the watchdog kills those groups and
 * removes the temporary folder. Same idea as the fault suite's.
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
  const child = spawn(process.execPath, ['-e', script, tempDir], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  child.on('error', () => undefined);
  child.stdin.on('error', () => undefined);
  child.unref();
  (child.stdin as unknown as { unref(): void }).unref();
  return {
    track: (pid) => child.stdin.write(`+${pid}\n`),
    forget: (pid) => child.stdin.write(`-${pid}\n`),
    end: () => child.stdin.end(),
  };
}
