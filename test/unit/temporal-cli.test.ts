import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findTemporalCli } from '../../src/tools/temporal-cli';

// `npm run tctl` finds the Temporal CLI and never builds it: TEMPORAL_CLI, the PATH, then the
// development cache folder; when none has it, the error names the installer to run.

const saved = { PATH: process.env.PATH, TEMPORAL_CLI: process.env.TEMPORAL_CLI, XDG: process.env.XDG_CACHE_HOME };
let dir: string;

const executable = (file: string): string => {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, '#!/bin/sh\n');
  chmodSync(file, 0o755);
  return file;
};

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'temporal-cli-'));
  process.env.PATH = path.join(dir, 'path');
  process.env.XDG_CACHE_HOME = path.join(dir, 'cache');
  delete process.env.TEMPORAL_CLI;
});

afterEach(() => {
  for (const [name, value] of [
    ['PATH', saved.PATH],
    ['TEMPORAL_CLI', saved.TEMPORAL_CLI],
    ['XDG_CACHE_HOME', saved.XDG],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('findTemporalCli', () => {
  it('says how to install it when it is nowhere', async () => {
    await expect(findTemporalCli()).rejects.toThrow(
      `the Temporal CLI (temporal) is not on the PATH nor in ${path.join(dir, 'cache', 'orders-service', 'bin')}: ` +
        'install it with `npx tsx dev/scripts/tools.ts temporal`, or set TEMPORAL_CLI to its path',
    );
  });

  it('takes the one the development tooling built into the cache folder', async () => {
    const cached = executable(path.join(dir, 'cache', 'orders-service', 'bin', 'temporal'));
    await expect(findTemporalCli()).resolves.toBe(cached);
  });

  it('prefers the PATH to the cache folder, and TEMPORAL_CLI to both', async () => {
    executable(path.join(dir, 'cache', 'orders-service', 'bin', 'temporal'));
    const onPath = executable(path.join(dir, 'path', 'temporal'));
    await expect(findTemporalCli()).resolves.toBe(onPath);
    process.env.TEMPORAL_CLI = executable(path.join(dir, 'elsewhere', 'temporal'));
    await expect(findTemporalCli()).resolves.toBe(process.env.TEMPORAL_CLI);
  });

  it('refuses a TEMPORAL_CLI that is not an executable file', async () => {
    process.env.TEMPORAL_CLI = path.join(dir, 'missing');
    await expect(findTemporalCli()).rejects.toThrow(
      `TEMPORAL_CLI is ${path.join(dir, 'missing')}, which is not an executable file`,
    );
  });
});
