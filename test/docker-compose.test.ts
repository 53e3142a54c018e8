import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../src/config';
import { CONNECTIONS_OF, connectionsOf } from '../src/production-posture';
import { EXAMPLE_SECRETS, SECRETS_OF, type ProcessRole, type SecretVariable } from '../src/production-secrets';
import { connectNats } from '../src/nats/connection';
import { versionOf } from '../dev/versions';
import { REPO_ROOT } from './support/run-command';
import { startConfiguredNats, type ConfiguredNats } from './security-helpers';

// docker-compose.yml read as compose reads it (YAML merge keys, ${VAR:?...} from the environment),
// without Docker: its processes pass the production posture, its ports stay on 127.0.0.1 but the
// webhook's, no password is written in it, its NATS users log in to deploy/nats/nats-server.conf, and
// every image is the version versions.json gives its component.

const { load } = createRequire(__filename)('js-yaml') as { load(text: string): unknown };

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  stop_grace_period?: string;
}

const TEXT = readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
const APP_SERVICES = ['worker', 'gateway', 'products', 'payments', 'migrate', 'nats-setup', 'seed'];
/** The process each service runs, as its entry point names it to loadConfigOrExit. */
const ROLES: Record<string, ProcessRole> = {
  worker: 'worker',
  gateway: 'gateway',
  products: 'products',
  payments: 'payments',
  migrate: 'migrate',
  'nats-setup': 'nats-setup',
  seed: 'seed',
};

/** Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error} (a missing one throws), $$. */
function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(
    /\$\$|\$\{([A-Z0-9_]+)(?:(:-|:\?)([^}]*))?\}/g,
    (match, name: string, op: string, arg: string) => {
      if (match === '$$') return '$';
      const value = env[name];
      if (value !== undefined && value !== '') return value;
      if (op === ':-') return arg;
      if (op === ':?') throw new Error(`${name}: ${arg}`);
      return '';
    },
  );
}

/** Every variable the file asks the environment for with ${VAR:?...}. */
const required = [...new Set([...TEXT.matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((match) => match[1] as string))].sort();

/** A value for each, letters and digits as the file asks; the Stripe ones shaped like Stripe's. */
const ENV: Record<string, string> = Object.fromEntries(
  required.map((name) => [
    name,
    name === 'STRIPE_SECRET_KEY'
      ? `sk_test_${randomBytes(12).toString('hex')}`
      : name === 'STRIPE_READ_KEY'
        ? `rk_test_${randomBytes(12).toString('hex')}`
        : `${randomBytes(1)[0]! % 10}${randomBytes(20).toString('hex')}`,
  ]),
);

function services(env: Record<string, string>): Record<string, Service> {
  const doc = load(interpolate(TEXT, env)) as { services: Record<string, Service> };
  return doc.services;
}

/** The Dockerfile's runtime ENV lines, which every app container starts with. */
const IMAGE_ENV: Record<string, string> = Object.fromEntries(
  [
    ...readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8')
      .split(/^FROM .* AS runtime$/m)[1]!
      .matchAll(/^ENV (\w+)=(\S+)$/gm),
  ].map((match) => [match[1] as string, match[2] as string]),
);

/**
 * Each image compose runs, at the version of the table (versions.json) that `npm start`, the cluster
 * profile and CI build their binaries from: compose keeps exact tags, this keeps them the table's.
 */
const IMAGES: Record<string, string> = {
  'temporalio/server': versionOf('temporal-server'),
  // It ships the schema files and the schema tool of the server of the same version.
  'temporalio/admin-tools': versionOf('temporal-server'),
  'temporalio/ui': versionOf('temporal-ui'),
  nats: `${versionOf('nats-server')}-alpine`,
  postgres: `${versionOf('postgres')}-alpine`,
  'stripe/stripe-mock': `v${versionOf('stripe-mock')}`,
};

describe('docker-compose.yml', () => {
  it('builds the service image on the Node of versions.json, the one CI runs everything on', () => {
    const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const bases = [...dockerfile.matchAll(/^FROM node:(\S+?)-\S+ AS \w+$/gm)].map((match) => match[1]);
    expect(bases).toEqual([versionOf('node'), versionOf('node')]);
  });

  it('runs every image at the version versions.json gives it', () => {
    const images = Object.values(services(ENV))
      .map((service) => service.image)
      .filter((image): image is string => image !== undefined && image !== 'orders-service:local');
    const used = [...new Set(images)].sort();
    // Every image the table names is used, and no image is left out of the table.
    expect(used.map((image) => image.slice(0, image.lastIndexOf(':'))).sort()).toEqual(Object.keys(IMAGES).sort());
    expect(used).toEqual(
      Object.entries(IMAGES)
        .map(([image, tag]) => `${image}:${tag}`)
        .sort(),
    );
  });

  it('asks the environment for every password and secret, naming what is missing', () => {
    expect(required).toEqual(
      expect.arrayContaining([
        'POSTGRES_PASSWORD',
        'ORDERS_DB_PASSWORD',
        'ORDERS_GATEWAY_NATS_PASSWORD',
        'ORDERS_WORKER_NATS_PASSWORD',
        'PRODUCTS_SERVICE_NATS_PASSWORD',
        'PAYMENTS_SERVICE_NATS_PASSWORD',
        'ORDERS_ADMIN_NATS_PASSWORD',
        'STRIPE_SECRET_KEY',
        'STRIPE_WEBHOOK_SECRET',
        'STRIPE_READ_KEY',
        'PAYMENT_SIGNING_KEY',
        'REFUND_SIGNING_KEY',
      ]),
    );
    const { POSTGRES_PASSWORD: _missing, ...withoutOne } = ENV;
    expect(() => services(withoutOne)).toThrow(/^POSTGRES_PASSWORD: set POSTGRES_PASSWORD/);
    // No password is written in the file itself.
    expect(TEXT).not.toMatch(
      /postgres:postgres|POSTGRES_PASSWORD: postgres|SQL_PASSWORD: postgres|POSTGRES_PWD: postgres/,
    );
  });

  it('publishes every port on 127.0.0.1 only, except the payments webhook', () => {
    const published = Object.entries(services(ENV)).flatMap(([name, service]) =>
      (service.ports ?? []).map((port) => `${name} ${port}`),
    );
    expect(published.length).toBeGreaterThan(5);
    expect(published.filter((entry) => !/ 127\.0\.0\.1:\d+:\d+$/.test(entry))).toEqual(['payments 3003:3003']);
  });

  it.each(APP_SERVICES)('gives %s a configuration the production posture accepts', (name) => {
    const service = services(ENV)[name] as Service;
    expect(service.image).toBe('orders-service:local');
    const env = { ...IMAGE_ENV, ...service.environment };
    expect(env.NODE_ENV).toBe('production');
    const config = parseConfig(env, ROLES[name]);
    expect(config.temporal.privateNetwork).toBe(true);
    const connections = connectionsOf(ROLES[name], config);
    if (connections.includes('nats') || connections.includes('nats-admin')) {
      expect(config.nats.user).toEqual(expect.any(String));
    }
    if (connections.includes('database')) expect(new URL(config.databaseUrl).username).toBe('orders_service');
  });

  it.each(APP_SERVICES)('gives %s only the credentials of what its process connects to', (name) => {
    const { environment = {} } = services(ENV)[name] as Service;
    const role = ROLES[name] as ProcessRole;
    const connections = connectionsOf(role, parseConfig({ ...IMAGE_ENV, ...environment }, role));
    const nats = connections.includes('nats') || connections.includes('nats-admin');
    expect(['NATS_PASSWORD' in environment, 'NATS_USER' in environment]).toEqual([nats, nats]);
    // A database password only where the process uses PostgreSQL: in its URL, or PGPASSWORD.
    const password = (url: string | undefined) => url !== undefined && new URL(url).password !== '';
    expect(password(environment.DATABASE_URL) || 'PGPASSWORD' in environment).toBe(connections.includes('database'));
    expect(password(environment.MIGRATION_DATABASE_URL)).toBe(name === 'migrate');
    // The superuser's password goes to the migrations alone.
    const superuser = ENV.POSTGRES_PASSWORD as string;
    expect(JSON.stringify(environment).includes(superuser)).toBe(name === 'migrate');
  });

  it('hands the payments service no database password, the one process that never connects to PostgreSQL', () => {
    const { environment = {} } = services(ENV).payments as Service;
    const text = JSON.stringify(environment);
    for (const secret of [ENV.ORDERS_DB_PASSWORD, ENV.POSTGRES_PASSWORD] as string[])
      expect(text).not.toContain(secret);
    expect(Object.keys(environment)).not.toEqual(expect.arrayContaining(['DATABASE_URL']));
    expect(Object.keys(environment)).not.toContain('PGPASSWORD');
    expect(() => parseConfig({ ...IMAGE_ENV, ...environment }, 'payments')).not.toThrow();
  });

  it.each(['worker', 'gateway', 'products', 'payments'])(
    'lets %s finish its own shutdown before docker stop kills it',
    (name) => {
      const service = services(ENV)[name] as Service;
      const { shutdownTimeoutMs } = parseConfig({ ...IMAGE_ENV, ...service.environment }, ROLES[name]);
      const grace = /^(\d+)s$/.exec(service.stop_grace_period ?? '10s');
      expect(Number(grace?.[1]) * 1_000).toBeGreaterThan(shutdownTimeoutMs);
    },
  );

  it.each(APP_SERVICES)('gives %s only the secrets its process uses', (name) => {
    const { environment = {} } = services(ENV)[name] as Service;
    const given = (Object.keys(EXAMPLE_SECRETS) as SecretVariable[]).filter((secret) => secret in environment);
    const role = ROLES[name] as ProcessRole;
    const verifies = role === 'worker' ? ['STRIPE_SECRET_KEY'] : [];
    expect(given.sort()).toEqual([...SECRETS_OF[role], ...verifies].sort());
  });

  describe('its NATS', () => {
    let dir: string;
    let server: ConfiguredNats;

    beforeAll(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'orders-compose-nats-'));
      const nats = services(ENV).nats as Service;
      const configFile = path.join(dir, 'orders.conf');
      // The file the nats service mounts, with the environment the nats service gets.
      const mount = (nats as { volumes?: string[] }).volumes?.find((volume) =>
        volume.endsWith(':/etc/nats/orders.conf:ro'),
      );
      expect(mount).toBe('./deploy/nats/nats-server.conf:/etc/nats/orders.conf:ro');
      expect(nats.command?.slice(0, 2)).toEqual(['-c', '/etc/nats/orders.conf']);
      copyFileSync(path.join(REPO_ROOT, 'deploy/nats/nats-server.conf'), configFile);
      server = await startConfiguredNats({ dir, name: 'compose', configFile, env: nats.environment ?? {} });
    });

    afterAll(async () => {
      await server?.stop();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    // The services whose process connects to NATS (migrate and seed do not, and get no NATS user).
    const NATS_SERVICES = APP_SERVICES.filter((name) =>
      CONNECTIONS_OF[ROLES[name] as ProcessRole].some((connection) => connection.startsWith('nats')),
    );

    it.each(NATS_SERVICES)('lets %s log in with its NATS user', async (name) => {
      const service = services(ENV)[name] as Service;
      const config = parseConfig({ ...IMAGE_ENV, ...service.environment, NATS_URL: server.url }, ROLES[name]);
      const nats = await connectNats(config.nats, `compose-${name}`);
      await nats.flush();
      await nats.close();
    });

    it('refuses a connection without credentials', async () => {
      const config = parseConfig({ NATS_URL: server.url });
      await expect(connectNats(config.nats, 'compose-anonymous')).rejects.toThrow(/authorization/i);
    });
  });
});
