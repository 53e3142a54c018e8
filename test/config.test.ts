import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_KEYS, ConfigError, parseConfig } from '../src/config';
import { DEV_CONFIG_KEYS, parseDevConfig } from '../dev/config';
import { EXAMPLE_SECRETS } from '../src/production-secrets';
import { REPO_ROOT, runScript } from './support/run-command';

function rejectionOf(
  env: Record<string, string>,
  parse: (env: Record<string, string>) => unknown = parseConfig,
): ConfigError {
  try {
    parse(env);
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
      privateNetwork: false,
      maxCachedWorkflows: 100,
      workflowStackTraces: false,
    });
    expect(parseDevConfig({})).toEqual({
      dataDir: path.join(REPO_ROOT, '.data'),
      temporal: {
        profile: 'dev',
        retentionDays: 30,
        cluster: {
          historyShards: 4,
          historyHosts: 2,
          databaseUrl: 'postgres://postgres@127.0.0.1:5432/temporal',
          visibilityDatabase: 'temporal_visibility',
          ports: {
            frontendHttp: 7243,
            frontendMembership: 6933,
            history: 7234,
            historyMembership: 6934,
            matching: 7235,
            matchingMembership: 6935,
            worker: 7239,
            workerMembership: 6939,
            ui: 8233,
          },
        },
      },
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

  it("reads the cluster profile (dev/config.ts): shards, hosts, retention, its database next to the migrations' and its ports", () => {
    const dev = parseDevConfig({
      TEMPORAL_LOCAL_SERVER: 'cluster',
      TEMPORAL_NAMESPACE_RETENTION_DAYS: '7',
      TEMPORAL_CLUSTER_HISTORY_SHARDS: '512',
      TEMPORAL_CLUSTER_HISTORY_HOSTS: '3',
      MIGRATION_DATABASE_URL: 'postgres://owner:secret@db.internal:5433/orders?sslmode=require',
      TEMPORAL_CLUSTER_MATCHING_PORT: '17235',
    });
    expect(dev.temporal.profile).toBe('cluster');
    expect(dev.temporal.retentionDays).toBe(7);
    expect(dev.temporal.cluster).toMatchObject({
      historyShards: 512,
      historyHosts: 3,
      databaseUrl: 'postgres://owner:secret@db.internal:5433/temporal',
      ports: { matching: 17235, history: 7234 },
    });
    expect(rejectionOf({ TEMPORAL_LOCAL_SERVER: 'production' }, parseDevConfig).message).toContain(
      'TEMPORAL_LOCAL_SERVER',
    );
    expect(rejectionOf({ TEMPORAL_CLUSTER_HISTORY_MEMBERSHIP_PORT: '40000' }, parseDevConfig).message).toMatch(
      /TEMPORAL_CLUSTER_HISTORY_MEMBERSHIP_PORT: must be below 32768/,
    );
    expect(rejectionOf({ TEMPORAL_CLUSTER_HISTORY_SHARDS: '0' }, parseDevConfig).message).toContain(
      'TEMPORAL_CLUSTER_HISTORY_SHARDS',
    );
    // The services neither read nor check npm start's own settings.
    expect(() => parseConfig({ TEMPORAL_LOCAL_SERVER: 'production' })).not.toThrow();
    expect(parseDevConfig({ DATA_DIR: 'elsewhere' }).dataDir).toBe(path.resolve('elsewhere'));
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

  it('gives each process a metrics port of its own, turned off by 0 or an empty value', () => {
    expect(parseConfig({}).metrics).toEqual({
      gatewayPort: 9461,
      workerPort: 9462,
      productsPort: 9463,
      paymentsPort: 9464,
      workerSdkPort: 9465,
    });
    const off = parseConfig({ GATEWAY_METRICS_PORT: '0', WORKER_SDK_METRICS_PORT: '' }).metrics;
    expect(off).toMatchObject({ workerPort: 9462, productsPort: 9463, paymentsPort: 9464 });
    expect(off.gatewayPort).toBeUndefined();
    expect(off.workerSdkPort).toBeUndefined();
    expect(() => parseConfig({ WORKER_METRICS_PORT: '70000' })).toThrow(/WORKER_METRICS_PORT/);
  });

  it('stops within SHUTDOWN_TIMEOUT_MS, 25 s unless set', () => {
    expect(parseConfig({}).shutdownTimeoutMs).toBe(25_000);
    expect(parseConfig({ SHUTDOWN_TIMEOUT_MS: '5000' }).shutdownTimeoutMs).toBe(5_000);
    expect(rejectionOf({ SHUTDOWN_TIMEOUT_MS: '-1' }).message).toContain('SHUTDOWN_TIMEOUT_MS:');
  });

  it("takes Temporal's TLS files under the Temporal CLI's names too, refusing two different paths for one file", () => {
    const cli = parseConfig({
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/ca.pem',
      TEMPORAL_TLS_CLIENT_CERT_PATH: '/client.pem',
      TEMPORAL_TLS_CLIENT_KEY_PATH: '/client.key',
    }).temporal;
    expect(cli).toMatchObject({
      tls: true,
      tlsCaFile: '/ca.pem',
      tlsCertFile: '/client.pem',
      tlsKeyFile: '/client.key',
    });
    expect(Object.keys(cli)).not.toContain('cliCaFile');
    // Both names, one path: fine; two paths: which one is meant is not for the service to guess.
    expect(
      parseConfig({ TEMPORAL_TLS_CA_FILE: '/ca.pem', TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/ca.pem' }).temporal.tlsCaFile,
    ).toBe('/ca.pem');
    const error = rejectionOf({
      TEMPORAL_TLS_CERT_FILE: '/a.pem',
      TEMPORAL_TLS_CLIENT_CERT_PATH: '/b.pem',
      TEMPORAL_TLS_KEY_FILE: '/a.key',
    });
    expect(error.message).toContain(
      'TEMPORAL_TLS_CERT_FILE, TEMPORAL_TLS_CLIENT_CERT_PATH: two names of the same file, set to different paths',
    );
    expect(error.message).not.toContain('/a.pem');
    // A certificate under one name and its key under the other make a pair; either alone does not.
    expect(
      parseConfig({ TEMPORAL_TLS_CERT_FILE: '/a.pem', TEMPORAL_TLS_CLIENT_KEY_PATH: '/a.key' }).temporal.tlsKeyFile,
    ).toBe('/a.key');
    expect(rejectionOf({ TEMPORAL_TLS_CLIENT_CERT_PATH: '/a.pem' }).message).toContain(
      'TEMPORAL_TLS_CERT_FILE, TEMPORAL_TLS_KEY_FILE: a client certificate needs its key',
    );
  });

  describe("the Temporal CLI's variables the services do not read", () => {
    const PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n';

    it.each([
      ['TEMPORAL_TLS_CLIENT_CERT_DATA', 'TEMPORAL_TLS_CERT_FILE'],
      ['TEMPORAL_TLS_CLIENT_KEY_DATA', 'TEMPORAL_TLS_KEY_FILE'],
      ['TEMPORAL_TLS_SERVER_CA_CERT_DATA', 'TEMPORAL_TLS_CA_FILE'],
      ['TEMPORAL_TLS_CERT_DATA', 'TEMPORAL_TLS_CERT_FILE'],
      ['TEMPORAL_TLS_KEY_DATA', 'TEMPORAL_TLS_KEY_FILE'],
      ['TEMPORAL_TLS_CA_DATA', 'TEMPORAL_TLS_CA_FILE'],
      ['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_CERT_FILE'],
      ['TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_KEY_FILE'],
      ['TEMPORAL_TLS_CA', 'TEMPORAL_TLS_CA_FILE'],
      ['TEMPORAL_PROFILE', 'TEMPORAL_ADDRESS'],
      ['TEMPORAL_CONFIG_FILE', 'TEMPORAL_ADDRESS'],
      ['TEMPORAL_ENV', 'TEMPORAL_ADDRESS'],
      ['TEMPORAL_GRPC_META_X_TENANT', 'TEMPORAL_API_KEY'],
    ])('refuses %s, naming %s instead and never the value', (name, instead) => {
      const value = name.endsWith('_DATA') ? PEM : 'prod';
      for (const role of [undefined, 'worker', 'gateway', 'tool'] as const) {
        const error = rejectionOf({ [name]: value }, (env) => parseConfig(env, role));
        const line = error.message.split('\n').find((entry) => entry.trim().startsWith(`${name}:`));
        expect(line).toContain(instead);
        expect(error.message).not.toContain('BEGIN PRIVATE KEY');
      }
      // Empty is unset.
      expect(() => parseConfig({ [name]: '' })).not.toThrow();
    });

    it('refuses TEMPORAL_TLS_DISABLE_HOST_VERIFICATION unless it keeps the check on', () => {
      for (const value of ['true', '1', 'TRUE', 'yes']) {
        expect(rejectionOf({ TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: value }).message).toMatch(
          /TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: the services always check .*set TEMPORAL_TLS_SERVER_NAME/,
        );
      }
      for (const value of ['false', '0', '']) {
        expect(() => parseConfig({ TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: value })).not.toThrow();
      }
    });

    it('refuses a codec endpoint where payloads are written, and leaves it to the CLI for the operator commands', () => {
      for (const role of [undefined, 'worker', 'gateway'] as const) {
        const error = rejectionOf(
          { TEMPORAL_CODEC_ENDPOINT: 'http://codec:8888', TEMPORAL_CODEC_AUTH: 'Bearer x' },
          (env) => parseConfig(env, role),
        );
        expect(error.message).toMatch(/TEMPORAL_CODEC_ENDPOINT: .*TEMPORAL_ENCRYPTION_KEY/);
        expect(error.message).toMatch(/TEMPORAL_CODEC_AUTH: /);
      }
      // npm run tctl hands it to the Temporal CLI, which decodes what it prints with it.
      expect(() => parseConfig({ TEMPORAL_CODEC_ENDPOINT: 'http://codec:8888' }, 'tool')).not.toThrow();
    });

    it('names them with the other bad variables, and stops a process before it connects', async () => {
      const error = rejectionOf({ TEMPORAL_PROFILE: 'prod', ORDER_CURRENCY: 'EURO' });
      expect(error.message).toContain('TEMPORAL_PROFILE:');
      expect(error.message).toContain('ORDER_CURRENCY:');
      const { code, stderr } = await runScript('src/worker.ts', { env: { TEMPORAL_TLS_CLIENT_KEY_DATA: PEM } });
      expect(code).toBe(1);
      expect(stderr).toContain('TEMPORAL_TLS_CLIENT_KEY_DATA: the services read PEM files');
      expect(stderr).not.toContain('BEGIN PRIVATE KEY');
    });
  });

  it('names every bad variable at once', () => {
    const error = rejectionOf({ PAYMENTS_HTTP_PORT: '70000', ORDER_CURRENCY: 'EURO' });
    expect(error.message).toContain('PAYMENTS_HTTP_PORT');
    expect(error.message).toContain('ORDER_CURRENCY');
  });

  it('stops a process with a bad value, naming the variable', async () => {
    const { code, stderr } = await runScript('src/scripts/migrate.ts', { env: { ORDER_CURRENCY: 'EURO' } });
    expect(code).toBe(1);
    expect(stderr).toContain('ORDER_CURRENCY');
  });

  describe('in production (NODE_ENV=production)', () => {
    const realSecrets = {
      STRIPE_SECRET_KEY: 'sk_live_not_in_the_repo',
      STRIPE_WEBHOOK_SECRET: 'whsec_not_in_the_repo',
    };
    // Everything else production asks for (test/production-posture.test.ts checks each rule).
    const secured = {
      NATS_USER: 'orders-gateway',
      NATS_PASSWORD: 'nats-password-not-in-the-repo',
      DATABASE_URL: 'postgres://orders_service:db-password-not-in-the-repo@db:5432/orders',
      STRIPE_API_BASE: 'https://api.stripe.com',
      TEMPORAL_TLS: 'true',
      // The other secrets (signing keys), each a real value.
      ...Object.fromEntries(
        Object.keys(EXAMPLE_SECRETS).map((name) => [name, `${name}-not-in-the-repo-0123456789abcdef`]),
      ),
    };

    it('keeps the example secrets on a developer machine', () => {
      expect(parseConfig({}).stripe.webhookSecret).toBe('whsec_local_development_secret');
      expect(parseConfig({ NODE_ENV: 'development' }).stripe.secretKey).toBe('sk_test_123');
    });

    it('refuses missing secrets, naming each variable', () => {
      const error = rejectionOf({ NODE_ENV: 'production' });
      expect(error.message).toContain('STRIPE_SECRET_KEY: must be set in production');
      expect(error.message).toContain('STRIPE_WEBHOOK_SECRET: must be set in production');
    });

    it.each(['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET'] as const)(
      'refuses the repository example value of %s',
      (name) => {
        const example = name === 'STRIPE_SECRET_KEY' ? 'sk_test_123' : 'whsec_local_development_secret';
        const error = rejectionOf({ NODE_ENV: 'production', ...secured, ...realSecrets, [name]: example });
        expect(error.message).toContain(`${name}: is the repository's example value`);
        expect(error.message.match(/STRIPE_/g)).toHaveLength(1);
      },
    );

    it('starts with real secrets', () => {
      expect(parseConfig({ NODE_ENV: 'production', ...secured, ...realSecrets }).stripe.webhookSecret).toBe(
        'whsec_not_in_the_repo',
      );
    });

    it('stops a process that has no webhook secret, naming the variable', async () => {
      // The payments service verifies Stripe's webhooks: it needs the secret (other processes do not).
      const { code, stderr } = await runScript('src/payments/main.ts', {
        env: {
          STRIPE_WEBHOOK_SECRET: undefined,
          NODE_ENV: 'production',
          STRIPE_SECRET_KEY: realSecrets.STRIPE_SECRET_KEY,
        },
      });
      expect(code).toBe(1);
      expect(stderr).toContain('STRIPE_WEBHOOK_SECRET: must be set in production');
      expect(stderr).not.toContain('STRIPE_SECRET_KEY');
    });
  });

  it('is documented in .env.example: every variable, with a comment, at its default', () => {
    const example = readFileSync(path.join(REPO_ROOT, '.env.example'), 'utf8').split('\n');
    const documented: Record<string, string> = {};
    example.forEach((line, index) => {
      const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
      if (!match?.[1]) return;
      expect(match[1] in documented).toBe(false);
      documented[match[1]] = match[2] ?? '';
      expect(example[index - 1]).toMatch(/^# \S/);
    });
    // The services' variables and dev/'s apart (neither reads the other's), and each exactly once.
    expect(CONFIG_KEYS.filter((key) => (DEV_CONFIG_KEYS as readonly string[]).includes(key))).toEqual([]);
    expect(CONFIG_KEYS).toEqual(expect.arrayContaining(['NODE_ENV', 'DATABASE_URL', 'TEMPORAL_ADDRESS', 'NATS_URL']));
    expect(DEV_CONFIG_KEYS).toEqual(expect.arrayContaining(['DATA_DIR', 'TEMPORAL_LOCAL_SERVER', 'TEMPORAL_UI_PORT']));
    // Exactly the declared variables: sorted, so a failure lists what to add or remove.
    expect(Object.keys(documented).sort()).toEqual([...CONFIG_KEYS, ...DEV_CONFIG_KEYS].sort());
    expect(parseConfig(documented)).toEqual(parseConfig({}));
    expect(parseDevConfig(documented)).toEqual(parseDevConfig({}));
  });
});
