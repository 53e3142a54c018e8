import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

  it('refuses a file another user could have written, and Node’s own variables in it', () => {
    writeFileSync(file, 'TEMPORAL_ADDRESS=attacker.example:7233\n');
    chmodSync(file, 0o664);
    expect(() => loadDotEnv({}, file)).toThrow(`${file}: writable by group or others, so it is not read`);
    chmodSync(file, 0o644);
    // Root here (as CI runs): the file is handed to another user.
    chownSync(file, 65534, 65534);
    expect(() => loadDotEnv({}, file)).toThrow(`${file}: owned by another user, so it is not read`);
    chownSync(file, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
    writeFileSync(file, 'NODE_ENV=\nNODE_TLS_REJECT_UNAUTHORIZED=0\nNODE_OPTIONS=--require /tmp/x.js\n');
    const env: Env = {};
    expect(() => loadDotEnv(env, file)).toThrow(
      `${file}: sets NODE_OPTIONS, NODE_TLS_REJECT_UNAUTHORIZED: Node's own variables are not taken from .env`,
    );
    expect(env).toEqual({});
  });

  it('names a file it cannot read', () => {
    // A directory where the file should be: present, but not readable as a file.
    expect(() => loadDotEnv({}, dir)).toThrow(ConfigError);
    expect(() => loadDotEnv({}, dir)).toThrow(`${dir}: cannot read it (EISDIR)`);
  });
});
