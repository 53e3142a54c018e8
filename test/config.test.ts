import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, parseConfig } from '../src/config';
import { tsxCommand } from '../src/infra/app-process';

const REPO_ROOT = path.resolve(__dirname, '..');

function rejectionOf(env: Record<string, string>): ConfigError {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be rejected`);
}

describe('configuration', () => {
  it('has defaults that work on a developer machine', () => {
    const config = parseConfig({});
    expect(config.temporal).toEqual({
      address: '127.0.0.1:7233',
      namespace: 'default',
      taskQueue: 'orders',
      tls: false,
      apiKey: undefined,
      maxCachedWorkflows: 100,
    });
    expect(config.orders.paymentConcurrency).toBe(32);
    expect(config.nats.url).toBe('nats://127.0.0.1:4222');
    expect(config.nats.requestTimeoutMs).toBe(5_000);
    expect(config.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/orders');
    expect(config.orders.currency).toBe('usd');
    expect(config.stripe.apiBase).toBe('http://127.0.0.1:12111');
    expect(config.payments).toEqual({ httpPort: 3003, publicUrl: 'http://localhost:3003' });
    expect(config.logLevel).toBe('info');
  });

  it('reads the values it is given', () => {
    const config = parseConfig({
      NATS_REQUEST_TIMEOUT_MS: '250',
      PAYMENTS_HTTP_PORT: '8080',
      ORDER_CURRENCY: 'eur',
      TEMPORAL_TLS: 'true',
    });
    expect(config.nats.requestTimeoutMs).toBe(250);
    expect(config.payments.httpPort).toBe(8080);
    expect(config.orders.currency).toBe('eur');
    expect(config.temporal.tls).toBe(true);
  });

  it.each([
    ['NATS_REQUEST_TIMEOUT_MS', 'abc'],
    ['NATS_REQUEST_TIMEOUT_MS', '-5'],
    ['PAYMENTS_HTTP_PORT', '70000'],
    ['ORDER_CURRENCY', 'EURO'],
    ['DATABASE_URL', 'not a url'],
    ['LOG_LEVEL', 'loud'],
    ['TEMPORAL_TLS', 'maybe'],
  ])('rejects %s=%s with a message naming the variable', (name, value) => {
    const error = rejectionOf({ [name]: value });
    expect(error.message).toContain(`${name}:`);
  });

  it('names every bad variable at once', () => {
    const error = rejectionOf({ PAYMENTS_HTTP_PORT: '70000', ORDER_CURRENCY: 'EURO' });
    expect(error.message).toContain('PAYMENTS_HTTP_PORT');
    expect(error.message).toContain('ORDER_CURRENCY');
  });

  it('stops a process with a bad value, naming the variable', async () => {
    const { command, args } = tsxCommand('src/scripts/migrate.ts');
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ORDER_CURRENCY: 'EURO' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('ORDER_CURRENCY');
  });

  it('is documented in .env.example: every variable, with a comment, at its default', () => {
    const example = readFileSync(path.join(REPO_ROOT, '.env.example'), 'utf8').split('\n');
    const documented: Record<string, string> = {};
    example.forEach((line, index) => {
      const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
      if (!match?.[1]) return;
      documented[match[1]] = match[2] ?? '';
      expect(example[index - 1]).toMatch(/^# \S/);
    });
    const schemaSource = readFileSync(path.join(REPO_ROOT, 'src/config.ts'), 'utf8');
    const variables = [...schemaSource.matchAll(/^\s+([A-Z][A-Z0-9_]+):/gm)].map((match) => match[1]);
    expect(variables.length).toBeGreaterThan(10);
    // Listing the missing names makes the failure say what to add.
    expect(variables.filter((name) => name !== undefined && !(name in documented))).toEqual([]);
    const { DATA_DIR: _dataDir, ...configVariables } = documented;
    expect(parseConfig(configVariables)).toEqual(parseConfig({}));
  });
});
