import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import pino from 'pino';
import { tsxCommand } from '../dev/infra/app-process';
import { parseConfig } from '../src/config';
import { connectNats } from '../src/nats/connection';
import { workerShutdownTimes } from '../src/worker/service';
import { eventually } from './support/eventually';
import { REPO_ROOT } from './support/run-command';
import { startTcpProxy } from './support/tcp-proxy';

// What every process does on a day that is not the first: .env read, signals, a stop that hangs, a crash
// (src/process-lifecycle.ts, on the fixture test/fixtures/lifecycle-process.ts), and NATS going away.

type LogLine = { level: number; msg: string } & Record<string, unknown>;

interface Fixture {
  lines: LogLine[];
  stderr: () => string;
  /** Resolves with the first log line `msg` once the process has written it. */
  logged(msg: string): Promise<LogLine>;
  /** Sends `signal`; `exited` says how long after the first one the process ended. */
  signal(signal: NodeJS.Signals): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; afterMs: number }>;
}

function startFixture(env: NodeJS.ProcessEnv = {}, cwd = REPO_ROOT): Fixture {
  const { command, args } = tsxCommand(path.join(REPO_ROOT, 'test/fixtures/lifecycle-process.ts'));
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const waiting: Array<() => void> = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(JSON.parse(line) as LogLine);
    for (const wake of waiting.splice(0)) wake();
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  let signalledAt = 0;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; afterMs: number }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal, afterMs: Date.now() - signalledAt }));
  });
  const logged = async (msg: string): Promise<LogLine> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const found = lines.find((line) => line.msg === msg);
      if (found) return found;
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`no "${msg}" line; got ${JSON.stringify(lines)}; stderr: ${stderr}`);
      }
      await new Promise<void>((resolve) => {
        waiting.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  };
  return {
    lines,
    stderr: () => stderr,
    logged,
    signal: (signal) => {
      signalledAt ||= Date.now();
      child.kill(signal);
    },
    exited,
  };
}

describe('stopping on signals', () => {
  it('stops on SIGTERM, waiting for the stop, and exits 0', async () => {
    const fixture = startFixture({ FIXTURE_STOP_MS: '300' });
    await fixture.logged('ready');
    fixture.signal('SIGTERM');
    const exit = await fixture.exited;
    expect(exit.code).toBe(0);
    expect(exit.afterMs).toBeGreaterThanOrEqual(250);
    expect(fixture.lines.map((line) => line.msg)).toEqual(['ready', 'stopping', 'stopped']);
  });

  it('exits at once on a second signal, with 128 + its number, while the stop still runs', async () => {
    const fixture = startFixture({ FIXTURE_STOP_MS: '60000' });
    await fixture.logged('ready');
    fixture.signal('SIGTERM');
    await fixture.logged('stopping');
    fixture.signal('SIGINT');
    const exit = await fixture.exited;
    expect(exit.code).toBe(130);
    expect(exit.afterMs).toBeLessThan(10_000);
    expect(await fixture.logged('second signal: exiting without waiting for the stop')).toMatchObject({
      level: 40,
      signal: 'SIGINT',
    });
  });

  it('exits 1 once SHUTDOWN_TIMEOUT_MS has passed and the stop has not ended', async () => {
    const fixture = startFixture({ FIXTURE_STOP_MS: '60000', SHUTDOWN_TIMEOUT_MS: '700' });
    await fixture.logged('ready');
    fixture.signal('SIGTERM');
    expect(await fixture.logged('stopping')).toMatchObject({ signal: 'SIGTERM', timeoutMs: 700 });
    const exit = await fixture.exited;
    expect(exit.code).toBe(1);
    expect(exit.afterMs).toBeGreaterThanOrEqual(600);
    expect(exit.afterMs).toBeLessThan(10_000);
    expect(await fixture.logged('did not stop within SHUTDOWN_TIMEOUT_MS: exiting')).toMatchObject({ level: 50 });
    expect(fixture.lines.map((line) => line.msg)).not.toContain('stopped');
  });

  it('exits 1, not 0, when a stop stalls with nothing else keeping the process alive', async () => {
    const fixture = startFixture({ FIXTURE_STOP: 'stalled', SHUTDOWN_TIMEOUT_MS: '500' });
    await fixture.logged('ready');
    fixture.signal('SIGTERM');
    const exit = await fixture.exited;
    expect(exit.code).toBe(1);
    expect(await fixture.logged('did not stop within SHUTDOWN_TIMEOUT_MS: exiting')).toMatchObject({ level: 50 });
  });

  it('gives the worker a shutdown that ends within SHUTDOWN_TIMEOUT_MS, leaving time to close connections', () => {
    const timeoutMs = parseConfig({}).shutdownTimeoutMs;
    expect(timeoutMs).toBe(25_000);
    const { shutdownGraceTime, shutdownForceTime } = workerShutdownTimes(timeoutMs);
    expect(shutdownGraceTime).toBeGreaterThan(0);
    expect(shutdownGraceTime).toBeLessThan(shutdownForceTime);
    expect(shutdownForceTime).toBeLessThan(timeoutMs);
    expect(() => parseConfig({ SHUTDOWN_TIMEOUT_MS: '0' })).toThrow(/SHUTDOWN_TIMEOUT_MS/);
  });
});

describe('crashes', () => {
  it.each([
    ['throw', 'crashed: uncaught exception', 'fixture: thrown and never caught'],
    ['reject', 'crashed: unhandled promise rejection', 'fixture: rejected and never handled'],
  ])('%s: logged as fatal with the error, then exit 1', async (crash, msg, message) => {
    const fixture = startFixture({ FIXTURE_CRASH: crash });
    const exit = await fixture.exited;
    expect(exit.code).toBe(1);
    const line = fixture.lines.find((each) => each.msg === msg);
    expect(line).toMatchObject({ level: 60, err: { type: 'Error', message } });
    expect((line?.err as { stack?: string }).stack).toContain('lifecycle-process.ts');
  });
});

describe('.env in the working directory', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'orders-dotenv-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('is read by a process before its configuration, under what the environment sets', async () => {
    writeFileSync(path.join(dir, '.env'), 'ORDER_CURRENCY=eur\nTEMPORAL_NAMESPACE=from-dotenv\n');
    const fixture = startFixture({ ORDER_CURRENCY: undefined, TEMPORAL_NAMESPACE: 'from-environment' }, dir);
    expect(await fixture.logged('ready')).toMatchObject({ currency: 'eur', namespace: 'from-environment' });
    fixture.signal('SIGTERM');
    expect((await fixture.exited).code).toBe(0);
  });

  it('stops an entry point on a bad value there, naming the variable', async () => {
    writeFileSync(path.join(dir, '.env'), 'ORDER_CURRENCY=EURO\n');
    const { command, args } = tsxCommand(path.join(REPO_ROOT, 'src/scripts/migrate.ts'));
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(command, args, {
        cwd: dir,
        env: { ...process.env, ORDER_CURRENCY: undefined },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.once('exit', (code) => resolve({ code, stderr }));
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ORDER_CURRENCY:');
  });
});

describe('NATS going away', () => {
  it('logs the disconnect (warn) and the reconnect (info), naming the server', async () => {
    const lines: LogLine[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as LogLine) });
    const config = parseConfig(process.env);
    const proxy = await startTcpProxy(Number(new URL(config.nats.url).port));
    const nats = await connectNats({ ...config.nats, url: `nats://127.0.0.1:${proxy.port}` }, 'lifecycle-test', logger);
    try {
      const server = expect.stringContaining(`:${proxy.port}`);
      await proxy.cut();
      await eventually(async () => {
        expect(lines).toContainEqual(
          expect.objectContaining({ level: 40, msg: 'NATS disconnected; reconnecting', server }),
        );
      });
      await proxy.restore();
      await eventually(async () => {
        expect(lines).toContainEqual(expect.objectContaining({ level: 30, msg: 'NATS reconnected', server }));
      });
    } finally {
      await nats.close();
      await proxy.close();
    }
  });
});
