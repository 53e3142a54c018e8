import type { Config } from './config';
import {
  isPlaceholder,
  PLACEHOLDER_VALUES,
  productionSecretProblems,
  SECRETS_OF,
  type ProcessRole,
  type SecretVariable,
} from './production-secrets';

/**
 * What a process refuses to start with in production (NODE_ENV=production): every rule of the
 * production posture in one place, each problem one line naming its variables (never a value).
 * parseConfig calls it once; the defaults suit a developer's machine and fail every rule.
 */

/**
 * PostgreSQL passwords that secure nothing: PostgreSQL's and Docker's usual defaults and the
 * examples written in this repository (docs, tests, docker-compose.yml), compared in lower case.
 */
export const DEFAULT_DATABASE_PASSWORDS: readonly string[] = [
  'postgres',
  'password',
  'secret',
  's3cret',
  'pw',
  'admin',
  ...PLACEHOLDER_VALUES,
];

type PostureConfig = Pick<
  Config,
  'nats' | 'databaseUrl' | 'migrationDatabaseUrl' | 'stripe' | 'paymentTrust' | 'tracing'
> & {
  temporal: Pick<Config['temporal'], 'tls' | 'privateNetwork'>;
  codecServer: Pick<Config['codecServer'], 'token'>;
};

/**
 * What a process connects to, and so the credentials it must have in production (and no others):
 * `nats` its NATS user, `nats-admin` the admin user of npm run nats:setup (NATS_ADMIN_* or NATS_*),
 * `database` DATABASE_URL's password, `migrations` MIGRATION_DATABASE_URL's (DATABASE_URL's when
 * unset), `stripe` Stripe over https, `temporal` Temporal over TLS or an API key. The worker talks
 * to Stripe only when it verifies payments there (PAYMENT_VERIFICATION=stripe).
 */
export type Connection = 'nats' | 'nats-admin' | 'database' | 'migrations' | 'stripe' | 'temporal';
export const CONNECTIONS_OF = {
  gateway: ['nats', 'database', 'temporal'],
  worker: ['nats', 'database', 'temporal'],
  products: ['nats', 'database'],
  // Checkout sessions, refunds and webhooks: NATS and Stripe, never PostgreSQL or Temporal.
  payments: ['nats', 'stripe'],
  migrate: ['migrations'],
  'nats-setup': ['nats-admin'],
  seed: ['database'],
  // The operator's commands (audit, the orders CLI, tctl) between them use all three.
  tool: ['nats', 'database', 'migrations', 'temporal'],
  // It decrypts payloads with the configured keys and connects to nothing.
  'codec-server': [],
} as const satisfies Record<ProcessRole, readonly Connection[]>;

/** Every connection: what `npm start` (no role) needs, as it runs every process. */
const EVERY_CONNECTION: readonly Connection[] = ['nats', 'database', 'migrations', 'stripe', 'temporal'];

/** The connections of `role` with this configuration. */
export function connectionsOf(
  role: ProcessRole | undefined,
  config: Pick<PostureConfig, 'paymentTrust'>,
): Connection[] {
  if (role === undefined) return [...EVERY_CONNECTION];
  const verifiesWithStripe = role === 'worker' && config.paymentTrust.verification === 'stripe';
  return [...CONNECTIONS_OF[role], ...(verifiesWithStripe ? ['stripe' as const] : [])];
}

/**
 * One line per production rule the configuration breaks; empty when it may start in production.
 * `role` names the process, which needs only its own secrets and the credentials of what it
 * connects to; without one, every secret and every connection is checked.
 */
export function productionPostureProblems(
  env: Record<string, string | undefined>,
  config: PostureConfig,
  role?: ProcessRole,
): string[] {
  const connections = connectionsOf(role, config);
  const uses = (connection: Connection) => connections.includes(connection);
  const secrets: SecretVariable[] | undefined =
    role === undefined ? undefined : [...SECRETS_OF[role], ...(uses('stripe') ? ['STRIPE_SECRET_KEY' as const] : [])];
  return [
    ...(uses('nats') ? natsProblems(config.nats) : []),
    ...(uses('nats-admin') ? natsAdminProblems(config.nats) : []),
    ...databaseProblems(env, config, uses('database'), uses('migrations')),
    ...(uses('stripe') ? stripeProblems(config.stripe) : []),
    // Checked on the raw environment: a default is the example secret, and must not pass for a real one.
    ...productionSecretProblems(env, secrets && [...new Set(secrets)]),
    ...(uses('temporal') ? temporalProblems(config.temporal) : []),
    ...(role === 'codec-server' ? codecServerProblems(config.codecServer) : []),
    ...tracingProblems(config.tracing),
  ];
}

const IN_PRODUCTION = 'in production (NODE_ENV=production)';

/** A NATS password or token given as a placeholder, named by its variable. */
function natsPlaceholderProblems(secrets: Array<[string, string | undefined]>): string[] {
  return secrets
    .filter(([, value]) => value !== undefined && isPlaceholder(value))
    .map(([name]) => `${name}: is a placeholder, not a secret; set a real one ${IN_PRODUCTION}`);
}

function natsProblems(nats: Config['nats']): string[] {
  const placeholders = natsPlaceholderProblems([
    ['NATS_PASSWORD', nats.password],
    ['NATS_TOKEN', nats.token],
  ]);
  if (placeholders.length > 0) return placeholders;
  const authenticated =
    (nats.user !== undefined && nats.password !== undefined) ||
    nats.token !== undefined ||
    nats.credsFile !== undefined ||
    nats.nkeySeedFile !== undefined;
  if (authenticated) return [];
  return [
    `NATS_USER + NATS_PASSWORD, NATS_TOKEN, NATS_CREDS_FILE, NATS_NKEY_SEED_FILE: NATS needs credentials ${IN_PRODUCTION}; set one of them`,
  ];
}

/** npm run nats:setup connects as NATS_ADMIN_USER when it is set (nats/stream-setup.ts), else with the NATS_* credentials. */
function natsAdminProblems(nats: Config['nats']): string[] {
  if (nats.admin === undefined) return natsProblems(nats);
  const placeholder = natsPlaceholderProblems([['NATS_ADMIN_PASSWORD', nats.admin.password]]);
  if (placeholder.length > 0) return placeholder;
  if (nats.admin.password !== undefined) return [];
  return [`NATS_ADMIN_PASSWORD: NATS_ADMIN_USER needs its password ${IN_PRODUCTION}`];
}

function databaseProblems(
  env: Record<string, string | undefined>,
  config: PostureConfig,
  database: boolean,
  migrations: boolean,
): string[] {
  const urls: Array<[string, string]> = database ? [['DATABASE_URL', config.databaseUrl]] : [];
  // MIGRATION_DATABASE_URL is DATABASE_URL unless set: named as itself only when it is another URL.
  if (migrations && config.migrationDatabaseUrl !== config.databaseUrl) {
    urls.push(['MIGRATION_DATABASE_URL', config.migrationDatabaseUrl]);
  } else if (migrations && !database) {
    urls.push(['DATABASE_URL', config.databaseUrl]);
  }
  return urls.flatMap(([name, value]) => {
    const password = databasePassword(value, env);
    if (password === undefined || password === '') {
      return [`${name}: has no password; PostgreSQL needs one ${IN_PRODUCTION} (postgres://user:password@host/db)`];
    }
    if (DEFAULT_DATABASE_PASSWORDS.includes(password.toLowerCase())) {
      return [
        `${name}: its password is a well-known default or one of the repository's examples; set a real one ${IN_PRODUCTION}`,
      ];
    }
    return [];
  });
}

/** The password the pg client would use: the URL's, its `?password=`, else PGPASSWORD. */
function databasePassword(databaseUrl: string, env: Record<string, string | undefined>): string | undefined {
  const url = new URL(databaseUrl);
  let fromUrl: string;
  try {
    fromUrl = decodeURIComponent(url.password);
  } catch {
    fromUrl = url.password;
  }
  return fromUrl || url.searchParams.get('password') || env.PGPASSWORD || undefined;
}

function stripeProblems(stripe: Config['stripe']): string[] {
  if (new URL(stripe.apiBase).protocol === 'https:') return [];
  return [`STRIPE_API_BASE: must be an https URL ${IN_PRODUCTION} (Stripe's is https://api.stripe.com)`];
}

function temporalProblems(temporal: PostureConfig['temporal']): string[] {
  if (temporal.tls || temporal.privateNetwork) return [];
  return [
    `TEMPORAL_TLS, TEMPORAL_API_KEY, TEMPORAL_PRIVATE_NETWORK: Temporal is plaintext; ${IN_PRODUCTION} use TLS (TEMPORAL_TLS or TEMPORAL_TLS_*) or an API key, or set TEMPORAL_PRIVATE_NETWORK=true when only a private network reaches it`,
  ];
}

/** The codec server decrypts every payload for whoever calls it: in production, only for holders of its token. */
function codecServerProblems(codecServer: PostureConfig['codecServer']): string[] {
  if (codecServer.token !== undefined && isPlaceholder(codecServer.token)) {
    return [`TEMPORAL_CODEC_SERVER_TOKEN: is a placeholder, not a secret; set a real one ${IN_PRODUCTION}`];
  }
  if (codecServer.token !== undefined) return [];
  return [
    `TEMPORAL_CODEC_SERVER_TOKEN: must be set ${IN_PRODUCTION}; the codec server decrypts every payload for whoever calls it`,
  ];
}

/** The console exporter writes every span, attributes and all (order ids, subjects, errors), to stdout. */
function tracingProblems(tracing: PostureConfig['tracing']): string[] {
  if (!tracing.enabled || !tracing.exporters.includes('console')) return [];
  return [
    `OTEL_TRACES_EXPORTER: console is refused ${IN_PRODUCTION}: it writes every span and its attributes to stdout, into the logs; use otlp (to a collector) or none`,
  ];
}
