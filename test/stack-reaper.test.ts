import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { databaseExists, dropDatabase } from './setup/databases';
import { eventually } from './support/eventually';
import { REPO_ROOT } from './support/run-command';

/**
 * The stack launcher's reaper (dev/infra/reaper.ts), which the test run, the bench and the fault
 * suite start their services with: an owner killed before it could stop them (kill -9, a CI
 * timeout, Ctrl-C before the teardown) leaves no server, no folder and no database behind.
 */

const OWNER = `
  const { startStack } = require('./dev/infra/stack');
  startStack({
    services: 'private',
    postgres: 'configured',
    temporal: 'memory',
    dirPrefix: 'orders-reaper-test-',
    databasePrefix: 'orders_reaper_test',
    reaper: true,
    log: () => undefined,
  }).then((stack) => {
    const pids = stack.started().map((service) => service.pid);
    process.stdout.write(JSON.stringify({ dir: stack.dir, databaseUrl: stack.databaseUrl, pids }) + '\\n');
    setInterval(() => undefined, 60_000);
  });`;

interface Started {
  dir: string;
  databaseUrl: string;
  pids: number[];
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let started: Started | undefined;

afterAll(async () => {
  // Should the reaper have failed, the fresh database is not left to the next run.
  if (started) await dropDatabase(started.databaseUrl);
});

it('stops what a killed owner started, removes its folder and drops its database', async () => {
  const owner = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', OWNER], {
    cwd: REPO_ROOT,
    env: process.env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  started = await new Promise<Started>((resolve, reject) => {
    const lines = createInterface({ input: owner.stdout });
    lines.once('line', (text) => resolve(JSON.parse(text) as Started));
    owner.once('exit', (code) => reject(new Error(`the owner exited (${code}) before its stack was up`)));
  });
  expect(started.pids.length).toBeGreaterThanOrEqual(3);
  expect(started.pids.every(alive)).toBe(true);
  expect(existsSync(started.dir)).toBe(true);
  // Made by the start (its migrations ran in it).
  expect(await databaseExists(started.databaseUrl)).toBe(true);

  owner.kill('SIGKILL');
  const { pids, dir } = started;
  const { databaseUrl } = started;
  await eventually(async () => {
    expect(pids.filter(alive)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(await databaseExists(databaseUrl)).toBe(false);
  });
});
