import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Writable } from 'node:stream';

/**
 * A detached watchdog told over a pipe which process groups its owner (the test run, the fault
 * suite, the bench) started, and which databases it made on a PostgreSQL it does not own. If the
 * owner dies without cleaning up (SIGKILL, a crash, a CI timeout, Ctrl-C before the teardown), the
 * pipe closes: the watchdog kills those groups, removes the owner's temporary folder and drops those
 * databases.
 */
export interface Reaper {
  track(pid: number): void;
  forget(pid: number): void;
  trackDatabase(databaseUrl: string): void;
  forgetDatabase(databaseUrl: string): void;
  end(): void;
}

export function startReaper(tempDir: string): Reaper {
  // Lines: "+<pid>" / "-<pid>" for a process group, "D+<url>" / "D-<url>" for a database.
  const script = `
    const groups = new Set();
    const databases = new Set();
    let pending = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => {
      const lines = (pending + chunk).split('\\n');
      pending = lines.pop();
      for (const line of lines) {
        if (line.startsWith('D+')) databases.add(line.slice(2));
        else if (line.startsWith('D-')) databases.delete(line.slice(2));
        else if (line[0] === '+') groups.add(Number(line.slice(1)));
        else groups.delete(Number(line.slice(1)));
      }
    });
    process.stdin.on('end', async () => {
      for (const pid of groups) { try { process.kill(-pid, 'SIGKILL'); } catch {} }
      require('node:fs').rmSync(process.argv[1], { recursive: true, force: true });
      const pg = require(process.argv[2]);
      for (const databaseUrl of databases) {
        const url = new URL(databaseUrl);
        const name = decodeURIComponent(url.pathname.slice(1));
        url.pathname = '/postgres';
        const client = new pg.Client({ connectionString: url.toString() });
        try {
          await client.connect();
          await client.query('DROP DATABASE IF EXISTS ' + pg.escapeIdentifier(name) + ' WITH (FORCE)');
        } catch {}
        await client.end().catch(() => {});
      }
    });`;
  const child = spawnWatchdog(process.execPath, ['-e', script, tempDir, require.resolve('pg')]);
  return {
    track: (pid) => child.stdin.write(`+${pid}\n`),
    forget: (pid) => child.stdin.write(`-${pid}\n`),
    trackDatabase: (databaseUrl) => child.stdin.write(`D+${databaseUrl}\n`),
    forgetDatabase: (databaseUrl) => child.stdin.write(`D-${databaseUrl}\n`),
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
