import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadDotEnv, type Env } from '../../src/config/env';

describe('.env (loadDotEnv, which loadConfigOrExit calls first)', () => {
  let dir: string;
  let file: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'orders-dotenv-'));
    file = path.join(dir, '.env');
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('sets what the environment does not, and never overrides what it does, even empty', () => {
    writeFileSync(
      file,
      [
        '# a comment',
        'ORDER_CURRENCY=eur',
        'TEMPORAL_NAMESPACE=from-file',
        'LOG_LEVEL=debug',
        'NATS_URL="nats://quoted:4222"',
        '',
      ].join('\n'),
    );
    const env: Env = { TEMPORAL_NAMESPACE: 'from-environment', LOG_LEVEL: '' };
    expect(loadDotEnv(env, file)).toBe(file);
    expect(env).toEqual({
      ORDER_CURRENCY: 'eur',
      TEMPORAL_NAMESPACE: 'from-environment',
      LOG_LEVEL: '',
      NATS_URL: 'nats://quoted:4222',
    });
  });

  it('does nothing without a file', () => {
    const env: Env = { A: '1' };
    expect(loadDotEnv(env, path.join(dir, 'missing.env'))).toBeUndefined();
    expect(env).toEqual({ A: '1' });
  });

  it('is not read when the environment says NODE_ENV=production', () => {
    writeFileSync(file, 'STRIPE_SECRET_KEY=sk_from_a_stray_file\n');
    const env: Env = { NODE_ENV: 'production' };
    expect(loadDotEnv(env, file)).toBeUndefined();
    expect(env).toEqual({ NODE_ENV: 'production' });
  });

  it('names a file it cannot read', () => {
    // A directory where the file should be: present, but not readable as a file.
    expect(() => loadDotEnv({}, dir)).toThrow(ConfigError);
    expect(() => loadDotEnv({}, dir)).toThrow(`${dir}: cannot read it (EISDIR)`);
  });
});
