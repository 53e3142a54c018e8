import { ConfigError, parseConfig } from '../src/config';
import { EXAMPLE_SECRETS, type ProcessRole } from '../src/production-secrets';
import { securedProductionEnv } from './support/production-env';
import { runCommand, runScript } from './support/run-command';

// NODE_ENV=production: what every process refuses to start with (src/production-posture.ts).

/** A configuration production accepts: every rule below breaks exactly one of its settings. */
const PRODUCTION = securedProductionEnv();

/** The environment `PRODUCTION` with `changes` applied; an undefined value removes the variable. */
function production(changes: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = { ...PRODUCTION, ...changes };
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** The problem lines of a refused configuration. */
function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const [heading, ...lines] = error.message.split('\n');
    expect(heading).toBe('Invalid configuration:');
    return lines.map((line) => line.trim());
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

/** Asserts that exactly one problem is reported, starting with `variables:`. */
function expectOnlyProblem(env: Record<string, string>, variables: string): string {
  const problems = problemsOf(env);
  expect(problems).toHaveLength(1);
  expect(problems[0]).toMatch(new RegExp(`^${variables.replace(/[+.]/g, '\\$&')}: `));
  return problems[0] as string;
}

const NATS = 'NATS_USER + NATS_PASSWORD, NATS_TOKEN, NATS_CREDS_FILE, NATS_NKEY_SEED_FILE';
const TEMPORAL = 'TEMPORAL_TLS, TEMPORAL_API_KEY, TEMPORAL_PRIVATE_NETWORK';
const NO_NATS_AUTH = {
  NATS_USER: undefined,
  NATS_PASSWORD: undefined,
  NATS_TOKEN: undefined,
  NATS_CREDS_FILE: undefined,
  NATS_NKEY_SEED_FILE: undefined,
};

describe('production posture (NODE_ENV=production)', () => {
  it('accepts a secured configuration', () => {
    const config = parseConfig(production());
    expect(config.nats.user).toBe('orders-gateway');
    expect(config.temporal).toMatchObject({ tls: true, privateNetwork: false });
  });

  it('refuses the developer defaults, naming each problem in one line, and never a value', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    expect(problems).toEqual([
      expect.stringMatching(
        /^NATS_USER \+ NATS_PASSWORD, NATS_TOKEN, NATS_CREDS_FILE, NATS_NKEY_SEED_FILE: NATS needs credentials/,
      ),
      expect.stringMatching(/^DATABASE_URL: has no password/),
      expect.stringMatching(/^STRIPE_API_BASE: must be an https URL/),
      ...Object.keys(EXAMPLE_SECRETS).map((name) => expect.stringMatching(new RegExp(`^${name}: must be set`))),
      expect.stringMatching(/^TEMPORAL_TLS, TEMPORAL_API_KEY, TEMPORAL_PRIVATE_NETWORK: Temporal is plaintext/),
    ]);
  });

  it('changes nothing on a developer machine: the defaults start', () => {
    expect(parseConfig({}).temporal.privateNetwork).toBe(false);
    expect(parseConfig({ NODE_ENV: 'development' }).databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/orders');
  });

  describe('NATS credentials', () => {
    it('refuses no credentials at all, or a user without a password', () => {
      expect(expectOnlyProblem(production(NO_NATS_AUTH), NATS)).toContain('NATS needs credentials');
      expectOnlyProblem(production({ ...NO_NATS_AUTH, NATS_USER: 'orders-gateway' }), NATS);
    });

    it.each([
      ['a user and password', { NATS_USER: 'orders-gateway', NATS_PASSWORD: 'nats-password-not-in-the-repo' }],
      ['a token', { NATS_TOKEN: 'nats-token-not-in-the-repo' }],
      ['a credentials file', { NATS_CREDS_FILE: '/run/secrets/orders.creds' }],
      ['an NKey seed file', { NATS_NKEY_SEED_FILE: '/run/secrets/orders.nk' }],
    ])('accepts %s', (_name, auth) => {
      expect(() => parseConfig(production({ ...NO_NATS_AUTH, ...auth }))).not.toThrow();
    });
  });

  describe('placeholders, as the example Secret writes them', () => {
    it.each([
      ['NATS_PASSWORD', { NATS_PASSWORD: 'REPLACE-ME' }],
      ['NATS_TOKEN', { ...NO_NATS_AUTH, NATS_TOKEN: ' changeme ' }],
      ['STRIPE_WEBHOOK_SECRET', { STRIPE_WEBHOOK_SECRET: 'REPLACE-ME' }],
      ['STRIPE_SECRET_KEY', { STRIPE_SECRET_KEY: 'Placeholder' }],
    ])('refuses a placeholder in %s, naming it', (name, changes) => {
      const problem = expectOnlyProblem(production(changes), name);
      expect(problem).toContain('is a placeholder');
    });

    it('refuses a placeholder NATS admin password for nats:setup', () => {
      const env = production({ NATS_ADMIN_USER: 'orders-admin', NATS_ADMIN_PASSWORD: 'REPLACE-ME' });
      expect(() => parseConfig(env, 'nats-setup')).toThrow(/NATS_ADMIN_PASSWORD: is a placeholder/);
      expect(() =>
        parseConfig({ ...env, NATS_ADMIN_PASSWORD: 'admin-password-not-in-the-repo' }, 'nats-setup'),
      ).not.toThrow();
    });

    it('refuses a placeholder database password', () => {
      const problem = expectOnlyProblem(
        production({ DATABASE_URL: 'postgres://orders_service:REPLACE-ME@db.internal:5432/orders' }),
        'DATABASE_URL',
      );
      expect(problem).not.toContain('REPLACE-ME');
    });
  });

  describe('PostgreSQL password', () => {
    const url = (credentials: string, query = '') => `postgres://${credentials}@db.internal:5432/orders${query}`;

    it.each([
      ['no password', url('orders_service'), 'has no password'],
      ['an empty password', url('orders_service:'), 'has no password'],
      ['postgres', url('postgres:postgres'), 'well-known default'],
      ['password', url('orders_service:password'), 'well-known default'],
      ['PASSWORD in capitals', url('orders_service:PASSWORD'), 'well-known default'],
      ["the repository's example s3cret", url('temporal:s3cret'), 'well-known default'],
      ["the repository's example pw", url('orders_service:pw'), 'well-known default'],
      ['a default written percent-encoded', url('orders_service:%70ostgres'), 'well-known default'],
    ])('refuses %s in DATABASE_URL', (_name, databaseUrl, reason) => {
      const problem = expectOnlyProblem(production({ DATABASE_URL: databaseUrl }), 'DATABASE_URL');
      expect(problem).toContain(reason);
      expect(problem).not.toContain(databaseUrl);
    });

    it('checks MIGRATION_DATABASE_URL too when it is set, naming it', () => {
      const problem = expectOnlyProblem(
        production({ MIGRATION_DATABASE_URL: url('postgres:postgres') }),
        'MIGRATION_DATABASE_URL',
      );
      expect(problem).toContain('well-known default');
      expectOnlyProblem(production({ MIGRATION_DATABASE_URL: url('orders_owner') }), 'MIGRATION_DATABASE_URL');
      expect(() =>
        parseConfig(production({ MIGRATION_DATABASE_URL: url('orders_owner:owner-password-not-in-the-repo') })),
      ).not.toThrow();
    });

    it.each([
      ['in the URL', { DATABASE_URL: url('orders_service:db-password-not-in-the-repo') }],
      ['in the query string', { DATABASE_URL: url('orders_service', '?password=db-password-not-in-the-repo') }],
      ['in PGPASSWORD, which the pg client reads', { DATABASE_URL: url('orders_service'), PGPASSWORD: 'not-default' }],
    ])('accepts a real password %s', (_name, changes) => {
      expect(() => parseConfig(production(changes))).not.toThrow();
    });

    it('refuses a default password in PGPASSWORD as well', () => {
      expectOnlyProblem(production({ DATABASE_URL: url('orders_service'), PGPASSWORD: 'postgres' }), 'DATABASE_URL');
    });
  });

  describe('Stripe API base', () => {
    it('refuses plain http (stripe-mock)', () => {
      expectOnlyProblem(production({ STRIPE_API_BASE: 'http://127.0.0.1:12111' }), 'STRIPE_API_BASE');
      expectOnlyProblem(production({ STRIPE_API_BASE: undefined }), 'STRIPE_API_BASE');
    });

    it('accepts https', () => {
      expect(parseConfig(production({ STRIPE_API_BASE: 'https://stripe-proxy.internal:8443' })).stripe.apiBase).toBe(
        'https://stripe-proxy.internal:8443',
      );
    });
  });

  describe('Stripe secrets', () => {
    it.each(['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET'] as const)('refuses %s missing or the example', (name) => {
      expectOnlyProblem(production({ [name]: undefined }), name);
      expect(expectOnlyProblem(production({ [name]: EXAMPLE_SECRETS[name] }), name)).toContain(
        "is the repository's example value",
      );
    });
  });

  describe('each process needs only its own secrets', () => {
    const NO_SECRETS = Object.fromEntries(Object.keys(EXAMPLE_SECRETS).map((name) => [name, undefined]));
    /** The secrets a role is refused for when none is set. */
    const secretsMissingFor = (role: ProcessRole, changes: Record<string, string | undefined> = {}): string[] => {
      try {
        parseConfig(production({ ...NO_SECRETS, ...changes }), role);
        return [];
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        return [...error.message.matchAll(/^ {2}(\w+): must be set/gm)].map((match) => match[1] as string).sort();
      }
    };

    it.each([
      ['gateway', ['PAYMENT_SIGNING_KEY', 'REFUND_SIGNING_KEY']],
      ['worker', ['PAYMENT_SIGNING_KEY', 'REFUND_SIGNING_KEY', 'STRIPE_SECRET_KEY']],
      ['products', []],
      ['payments', ['REFUND_SIGNING_KEY', 'STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET']],
      ['migrate', []],
      ['nats-setup', []],
      ['seed', []],
      ['tool', []],
      ['codec-server', ['TEMPORAL_CODEC_SERVER_TOKEN']],
    ] as const)('%s: %j', (role, secrets) => {
      expect(secretsMissingFor(role)).toEqual([...secrets].sort());
    });

    it('asks the codec server, and only it, for its token (TEMPORAL_CODEC_SERVER_TOKEN)', () => {
      const problem = (role: ProcessRole): string[] => {
        try {
          parseConfig(production(), role);
          return [];
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
          return error.message.split('\n').slice(1);
        }
      };
      expect(problem('codec-server')).toEqual([
        expect.stringMatching(/^ {2}TEMPORAL_CODEC_SERVER_TOKEN: must be set in production \(NODE_ENV=production\)/),
      ]);
      for (const role of [
        'gateway',
        'worker',
        'products',
        'payments',
        'migrate',
        'nats-setup',
        'seed',
        'tool',
      ] as const)
        expect(problem(role)).toEqual([]);
      const token = 'codec-token-not-in-the-repo-0123456789abcdef';
      expect(parseConfig(production({ TEMPORAL_CODEC_SERVER_TOKEN: token }), 'codec-server').codecServer.token).toBe(
        token,
      );
    });

    it('asks the worker for no Stripe key when it trusts the events (PAYMENT_VERIFICATION=events)', () => {
      expect(secretsMissingFor('worker', { PAYMENT_VERIFICATION: 'events' })).toEqual([
        'PAYMENT_SIGNING_KEY',
        'REFUND_SIGNING_KEY',
      ]);
    });

    it('asks for every secret when no process is named (npm start runs them all)', () => {
      expect(secretsMissingFor(undefined as unknown as ProcessRole)).toEqual(Object.keys(EXAMPLE_SECRETS).sort());
    });
  });

  describe('each process needs only the credentials of what it connects to', () => {
    /** The production environment with no credentials at all: no NATS user, no database password, Stripe and Temporal plaintext. */
    const NOTHING = production({
      ...NO_NATS_AUTH,
      DATABASE_URL: 'postgres://orders_service@db.internal:5432/orders',
      STRIPE_API_BASE: 'http://stripe-mock:12111',
      TEMPORAL_TLS: undefined,
      TEMPORAL_CODEC_SERVER_TOKEN: 'codec-token-not-in-the-repo-0123456789abcdef',
    });
    /** The variables each refused line starts with, secrets left aside (the test above covers them). */
    const refusedFor = (role: ProcessRole, changes: Record<string, string | undefined> = {}): string[] => {
      try {
        parseConfig({ ...NOTHING, ...changes } as Record<string, string>, role);
        return [];
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        return error.message
          .split('\n')
          .slice(1)
          .map((line) => line.trim().split(': ')[0] as string);
      }
    };

    it.each([
      ['gateway', [NATS, 'DATABASE_URL', TEMPORAL]],
      ['worker', [NATS, 'DATABASE_URL', 'STRIPE_API_BASE', TEMPORAL]],
      ['products', [NATS, 'DATABASE_URL']],
      // It never connects to PostgreSQL nor to Temporal: no database password, no Temporal TLS.
      ['payments', [NATS, 'STRIPE_API_BASE']],
      ['migrate', ['DATABASE_URL']],
      ['nats-setup', [NATS]],
      ['seed', ['DATABASE_URL']],
      ['tool', [NATS, 'DATABASE_URL', TEMPORAL]],
      ['codec-server', []],
    ] as const)('%s: %j', (role, refused) => {
      expect(refusedFor(role)).toEqual(refused);
    });

    it('asks the worker for no Stripe over https when it trusts the events', () => {
      expect(refusedFor('worker', { PAYMENT_VERIFICATION: 'events' })).toEqual([NATS, 'DATABASE_URL', TEMPORAL]);
    });

    it('starts payments without any database password, whatever DATABASE_URL says', () => {
      const payments = production({ NATS_USER: 'payments-service', DATABASE_URL: undefined, PGPASSWORD: undefined });
      expect(() => parseConfig(payments, 'payments')).not.toThrow();
      expect(() =>
        parseConfig({ ...payments, DATABASE_URL: 'postgres://postgres@db:5432/orders' }, 'payments'),
      ).not.toThrow();
      // The processes that use PostgreSQL still refuse the same environment.
      for (const role of ['gateway', 'worker', 'products', 'seed', 'tool'] as const) {
        expect(() => parseConfig(payments, role)).toThrow(/DATABASE_URL: has no password/);
      }
    });

    it('checks the migrations URL for migrate, naming the variable it uses', () => {
      const owner = 'postgres://orders_owner:owner-password-not-in-the-repo@db.internal:5432/orders';
      // DATABASE_URL without a password (as deploy/k8s gives it) and the owner's URL: migrate starts.
      expect(refusedFor('migrate', { MIGRATION_DATABASE_URL: owner })).toEqual([]);
      expect(refusedFor('migrate', { MIGRATION_DATABASE_URL: 'postgres://postgres:postgres@db:5432/orders' })).toEqual([
        'MIGRATION_DATABASE_URL',
      ]);
      // Which the processes never use: they are not asked about it.
      expect(refusedFor('products', { MIGRATION_DATABASE_URL: 'postgres://postgres@db:5432/orders' })).toEqual([
        NATS,
        'DATABASE_URL',
      ]);
    });

    it('lets nats-setup log in as the NATS admin, with its password', () => {
      expect(
        refusedFor('nats-setup', { NATS_ADMIN_USER: 'orders-admin', NATS_ADMIN_PASSWORD: 'admin-not-in-the-repo' }),
      ).toEqual([]);
      expect(refusedFor('nats-setup', { NATS_ADMIN_USER: 'orders-admin' })).toEqual(['NATS_ADMIN_PASSWORD']);
      expect(refusedFor('nats-setup', { NATS_USER: 'orders-admin', NATS_PASSWORD: 'admin-not-in-the-repo' })).toEqual(
        [],
      );
    });
  });

  describe('traces', () => {
    it.each(['console', 'otlp,console'])(
      'refuses OTEL_TRACES_EXPORTER=%s: spans and their attributes on stdout',
      (exporters) => {
        for (const role of [undefined, 'gateway', 'worker', 'products', 'payments'] as const) {
          const problems = (() => {
            try {
              parseConfig(production({ OTEL_TRACES_EXPORTER: exporters }), role);
              return [];
            } catch (error) {
              if (!(error instanceof ConfigError)) throw error;
              return error.message.split('\n').slice(1);
            }
          })();
          expect(problems.filter((line) => !/^ {2}(PAYMENT|REFUND|STRIPE)_/.test(line))).toEqual([
            expect.stringMatching(/^ {2}OTEL_TRACES_EXPORTER: console is refused in production .*stdout.*use otlp/),
          ]);
        }
      },
    );

    it('accepts otlp, none, and a console exporter that tracing being off leaves unused', () => {
      expect(parseConfig(production({ OTEL_TRACES_EXPORTER: 'otlp' })).tracing.exporters).toEqual(['otlp']);
      expect(() => parseConfig(production({ OTEL_TRACES_EXPORTER: 'none' }))).not.toThrow();
      expect(() =>
        parseConfig(production({ OTEL_TRACES_EXPORTER: 'console', OTEL_SDK_DISABLED: 'true' })),
      ).not.toThrow();
      // On a developer's machine the console exporter stays available.
      expect(parseConfig({ OTEL_TRACES_EXPORTER: 'console' }).tracing.exporters).toEqual(['console']);
    });
  });

  describe('Temporal transport', () => {
    it('refuses plaintext without a word that the network is private', () => {
      const problem = expectOnlyProblem(production({ TEMPORAL_TLS: undefined }), TEMPORAL);
      expect(problem).toContain('TEMPORAL_PRIVATE_NETWORK=true');
      expectOnlyProblem(production({ TEMPORAL_TLS: 'false', TEMPORAL_PRIVATE_NETWORK: 'false' }), TEMPORAL);
    });

    it.each([
      ['TLS', { TEMPORAL_TLS: 'true' }],
      ['TLS implied by a private CA', { TEMPORAL_TLS_CA_FILE: '/run/secrets/temporal-ca.pem' }],
      ['an API key (always over TLS)', { TEMPORAL_API_KEY: 'temporal-api-key-not-in-the-repo' }],
      ['TEMPORAL_PRIVATE_NETWORK=true', { TEMPORAL_PRIVATE_NETWORK: 'true' }],
    ])('accepts %s', (_name, changes) => {
      expect(() => parseConfig(production({ TEMPORAL_TLS: undefined, ...changes }))).not.toThrow();
    });

    it('refuses a TEMPORAL_PRIVATE_NETWORK that is not a boolean', () => {
      expect(problemsOf(production({ TEMPORAL_PRIVATE_NETWORK: 'yes' }))[0]).toMatch(/^TEMPORAL_PRIVATE_NETWORK: /);
    });
  });

  describe('the processes refuse to start', () => {
    // Everything else secured: the only problem left is NATS.
    const withoutNats = {
      ...production(),
      ...NO_NATS_AUTH,
      MIGRATION_DATABASE_URL: undefined,
      PGPASSWORD: undefined,
      LOG_LEVEL: 'silent',
    };

    it('npm run gateway without NATS credentials exits non-zero naming NATS', async () => {
      const { code, stdout, stderr } = await runCommand('npm', ['run', '--silent', 'gateway'], withoutNats);
      expect(code).not.toBe(0);
      expect(stderr).toContain(`${NATS}: NATS needs credentials in production (NODE_ENV=production)`);
      // Refused before connecting to anything, with no other problem named.
      expect(stderr.match(/^ {2}\S/gm)).toHaveLength(1);
      expect(stdout).toBe('');
    });

    it.each(['src/worker.ts', 'src/products/main.ts', 'src/payments/main.ts', 'src/scripts/nats-setup.ts'])(
      '%s without NATS credentials exits 1 naming NATS',
      async (script) => {
        const { code, stderr } = await runScript(script, { env: withoutNats });
        expect(code).toBe(1);
        expect(stderr).toContain(`${NATS}: NATS needs credentials`);
      },
    );

    // Neither connects to NATS: each is refused for what it does use, never for NATS.
    it.each([
      ['src/scripts/codec-server.ts', {}, 'TEMPORAL_CODEC_SERVER_TOKEN: must be set'],
      [
        'src/scripts/migrate.ts',
        { DATABASE_URL: 'postgres://orders_owner@db.internal:5432/orders' },
        'DATABASE_URL: has no password',
      ],
    ])('%s exits 1 naming only what it uses', async (script, changes, problem) => {
      const { code, stderr } = await runScript(script, { env: { ...withoutNats, ...changes } });
      expect(code).toBe(1);
      expect(stderr).toContain(problem);
      expect(stderr).not.toContain('NATS needs credentials');
      expect(stderr.match(/^ {2}\S/gm)).toHaveLength(1);
    });

    it('the payments service refuses console traces in production', async () => {
      const { code, stderr } = await runScript('src/payments/main.ts', {
        env: { ...production(), NATS_USER: 'payments-service', OTEL_TRACES_EXPORTER: 'console', LOG_LEVEL: 'silent' },
      });
      expect(code).toBe(1);
      expect(stderr).toContain('OTEL_TRACES_EXPORTER: console is refused in production');
    });

    it('the orders CLI refuses the same configuration', async () => {
      const { code, stderr } = await runCommand('node', ['bin/orders.js', 'products'], withoutNats);
      expect(code).toBe(1);
      expect(stderr).toContain(`${NATS}: NATS needs credentials`);
    });
  });
});
