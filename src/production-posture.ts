import type { Config } from './config';
import { productionSecretProblems, SECRETS_OF, type ProcessRole, type SecretVariable } from './production-secrets';

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
  'changeme',
  'admin',
  '…',
  '...',
];

type PostureConfig = Pick<Config, 'nats' | 'databaseUrl' | 'migrationDatabaseUrl' | 'stripe' | 'paymentTrust'> & {
  temporal: Pick<Config['temporal'], 'tls' | 'privateNetwork'>;
  codecServer: Pick<Config['codecServer'], 'token'>;
};

/**
 * One line per production rule the configuration breaks; empty when it may start in production.
 * `role` names the process, which needs only its own secrets; without one, every secret is needed.
 */
export function productionPostureProblems(
  env: Record<string, string | undefined>,
  config: PostureConfig,
  role?: ProcessRole,
): string[] {
  const verifiesWithStripe = role === 'worker' && config.paymentTrust.verification === 'stripe';
  const secrets: SecretVariable[] | undefined =
    role === undefined
      ? undefined
      : [...SECRETS_OF[role], ...(verifiesWithStripe ? ['STRIPE_SECRET_KEY' as const] : [])];
  const talksToStripe = role === undefined || role === 'payments' || verifiesWithStripe;
  return [
    ...natsProblems(config.nats),
    ...databaseProblems(env, config),
    ...(talksToStripe ? stripeProblems(config.stripe) : []),
    // Checked on the raw environment: a default is the example secret, and must not pass for a real one.
    ...productionSecretProblems(env, secrets),
    ...temporalProblems(config.temporal),
    ...(role === 'codec-server' ? codecServerProblems(config.codecServer) : []),
  ];
}

const IN_PRODUCTION = 'in production (NODE_ENV=production)';

function natsProblems(nats: Config['nats']): string[] {
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

function databaseProblems(env: Record<string, string | undefined>, config: PostureConfig): string[] {
  const urls: Array<[string, string]> = [['DATABASE_URL', config.databaseUrl]];
  // MIGRATION_DATABASE_URL is DATABASE_URL unless set: checked only when it is another URL.
  if (config.migrationDatabaseUrl !== config.databaseUrl) {
    urls.push(['MIGRATION_DATABASE_URL', config.migrationDatabaseUrl]);
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
  if (codecServer.token !== undefined) return [];
  return [
    `TEMPORAL_CODEC_SERVER_TOKEN: must be set ${IN_PRODUCTION}; the codec server decrypts every payload for whoever calls it`,
  ];
}
