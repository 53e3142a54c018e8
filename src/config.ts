import { z } from 'zod';
import { codecServer } from './config/codec-server';
import { certificatePairProblems, encryptionFields, encryptionProblems, temporalEncryption } from './config/encryption';
import { temporalCliVariableProblems } from './config/temporal-cli-env';
import { temporalTlsFields, temporalTlsFiles, temporalTlsProblems } from './config/temporal-tls';
import { tracing } from './config/tracing';
import {
  flag,
  int,
  list,
  loadDotEnv,
  optional,
  optionalPort,
  optionalUrl,
  parsedOrExit,
  parseSections,
  port,
  positiveInt,
  section,
  text,
  throwProblems,
  url,
  variable,
  variablesOf,
  type Env,
} from './config/env';
import { DEFAULT_INBOX_PREFIXES, inboxPrefixProblem } from './nats/reply-subjects';
import { PAYMENTS_SUBJECTS, PRODUCTS_SUBJECTS } from './nats/subjects';
import { productionPostureProblems } from './production-posture';
import { EXAMPLE_SECRETS, type ProcessRole } from './production-secrets';

export { ConfigError } from './config/env';
export type { TemporalEncryption } from './config/encryption';

// The one typed configuration object, parsed once from environment variables at start-up. Each variable
// is declared once, in its section, with its validation and default (config/env.ts says how).

// production: every secret set and not the repository's example, NATS, PostgreSQL, Stripe and Temporal
// secured (production-posture.ts); also the defaults of PAYMENT_STREAM_SETUP and PAYMENT_VERIFICATION.
const isProduction = optional.transform((value) => value === 'production');
const PRODUCTION = variable('NODE_ENV', isProduction);
const signingKey = (fallback: string) =>
  z.string().min(32, 'must be at least 32 characters (e.g. `openssl rand -base64 32`)').default(fallback);

const LOG_LEVEL = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
const CURRENCY = z.string().regex(/^[a-z]{3}$/, 'must be a three-letter lower-case ISO currency code');

const general = section(
  {
    logLevel: variable('LOG_LEVEL', LOG_LEVEL.default('info')),
    /** The processes' connection: a role that reads and writes the tables (orders_app), not their owner. */
    databaseUrl: variable('DATABASE_URL', url.default('postgres://postgres@127.0.0.1:5432/orders')),
    /** The migrations' connection, as the tables' owner; DATABASE_URL unless set. */
    migrationDatabaseUrl: variable('MIGRATION_DATABASE_URL', optionalUrl),
    /** How long a process may take to stop on SIGTERM or SIGINT before it exits anyway, non-zero. */
    shutdownTimeoutMs: variable('SHUTDOWN_TIMEOUT_MS', positiveInt.default(25_000)),
  },
  { derive: (g) => ({ ...g, migrationDatabaseUrl: g.migrationDatabaseUrl ?? g.databaseUrl }) },
);

const temporal = section(
  {
    address: variable('TEMPORAL_ADDRESS', text('127.0.0.1:7233')),
    namespace: variable('TEMPORAL_NAMESPACE', text('default')),
    taskQueue: variable('TEMPORAL_TASK_QUEUE', text('orders')),
    /** True when TEMPORAL_TLS is set, or implied by a TLS file, a server name or an API key. */
    tls: variable('TEMPORAL_TLS', flag),
    apiKey: variable('TEMPORAL_API_KEY', optional),
    ...temporalTlsFields,
    /** Name the server's certificate is checked against, when it differs from the address's host. */
    tlsServerName: variable('TEMPORAL_TLS_SERVER_NAME', optional),
    /** Only a private network reaches Temporal, so production may use it without TLS. */
    privateNetwork: variable('TEMPORAL_PRIVATE_NETWORK', flag),
    ...encryptionFields,
    /** A prebuilt workflow bundle (npm run bundle:workflows); without one the worker bundles at start. */
    workflowBundle: variable('TEMPORAL_WORKFLOW_BUNDLE', optional),
    /** Open orders the worker keeps in memory; others are replayed from their (short) history when needed. */
    maxCachedWorkflows: variable('TEMPORAL_WORKER_MAX_CACHED_WORKFLOWS', int(0, 100)),
    /** Stack traces for the Web UI's "Stack Trace" tab; ~15 % of the worker's CPU (worker/workflow-stack-traces.ts). */
    workflowStackTraces: variable('TEMPORAL_WORKER_STACK_TRACES', flag),
  },
  {
    check: (t) => [...temporalTlsProblems(t), ...encryptionProblems(t)],
    derive: ({ encryptionKey, encryptionKeyId, previousKeys, ...values }) => {
      const t = temporalTlsFiles(values);
      return {
        ...t,
        // The SDK would turn TLS on for an API key anyway: a key is never sent in the clear.
        tls: t.tls || [t.tlsCaFile, t.tlsCertFile, t.tlsServerName, t.apiKey].some((value) => value !== undefined),
        encryption: temporalEncryption({ encryptionKey, encryptionKeyId, previousKeys }),
      };
    },
  },
);

const AUTH_VARIABLES = ['NATS_USER', 'NATS_TOKEN', 'NATS_NKEY_SEED_FILE', 'NATS_CREDS_FILE'];
const nats = section(
  {
    url: variable('NATS_URL', text('nats://127.0.0.1:4222')),
    user: variable('NATS_USER', optional),
    password: variable('NATS_PASSWORD', optional),
    token: variable('NATS_TOKEN', optional),
    credsFile: variable('NATS_CREDS_FILE', optional),
    nkeySeedFile: variable('NATS_NKEY_SEED_FILE', optional),
    /** True when NATS_TLS is set, or implied by a tls:// URL or a TLS file. */
    tls: variable('NATS_TLS', flag),
    tlsCaFile: variable('NATS_TLS_CA_FILE', optional),
    tlsCertFile: variable('NATS_TLS_CERT_FILE', optional),
    tlsKeyFile: variable('NATS_TLS_KEY_FILE', optional),
    queueGroup: variable('NATS_QUEUE_GROUP', text('orders-service')),
    requestTimeoutMs: variable('NATS_REQUEST_TIMEOUT_MS', positiveInt.default(5_000)),
    /** Reply subject prefixes responders answer on (nats/reply-subjects.ts); never `$JS.`, `$SYS.`, `$KV.` or `$O.`. */
    inboxPrefixes: variable(
      'NATS_INBOX_PREFIXES',
      list
        .transform((prefixes) => (prefixes.length === 0 ? [...DEFAULT_INBOX_PREFIXES] : prefixes))
        .superRefine((prefixes, context) => {
          for (const problem of prefixes.map(inboxPrefixProblem)) {
            if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
          }
        }),
    ),
    // Who the deploy-time step (npm run nats:setup) connects as; the credentials above when absent.
    adminUser: variable('NATS_ADMIN_USER', optional),
    adminPassword: variable('NATS_ADMIN_PASSWORD', optional),
  },
  {
    check: (n) => {
      const auth = [n.user, n.token, n.nkeySeedFile, n.credsFile].map((value, i) => [value, AUTH_VARIABLES[i]]);
      const ways = auth.flatMap(([value, name]) => (value === undefined ? [] : [name]));
      return [
        ...(ways.length > 1 ? [`${ways.join(', ')}: set one way to authenticate to NATS, not several`] : []),
        ...(n.password !== undefined && n.user === undefined ? ['NATS_PASSWORD: needs NATS_USER'] : []),
        ...(n.adminPassword !== undefined && n.adminUser === undefined
          ? ['NATS_ADMIN_PASSWORD: needs NATS_ADMIN_USER']
          : []),
        ...certificatePairProblems('NATS', n.tlsCertFile, n.tlsKeyFile),
      ];
    },
    derive: ({ adminUser, adminPassword, ...n }) => ({
      ...n,
      tls:
        n.tls ||
        n.url.split(',').some((server) => server.trim().toLowerCase().startsWith('tls://')) ||
        [n.tlsCaFile, n.tlsCertFile].some((value) => value !== undefined),
      admin: adminUser === undefined ? undefined : { user: adminUser, password: adminPassword },
    }),
  },
);

/** Limits of the JetStream stream PAYMENTS (payment.succeeded, payment.refund.requested). */
const paymentStream = section(
  {
    /** Messages older than this are dropped (JetStream max_age). */
    maxAgeMs: variable('PAYMENT_STREAM_MAX_AGE_MS', positiveInt.default(7 * 24 * 60 * 60 * 1000)),
    /** The oldest messages are dropped beyond this size (JetStream max_bytes). */
    maxBytes: variable('PAYMENT_STREAM_MAX_BYTES', int(1024 * 1024, 1024 * 1024 * 1024)),
    /** Copies kept on a NATS cluster (JetStream num_replicas); 1 on a single server. */
    replicas: variable('PAYMENT_STREAM_REPLICAS', int(1, 1, 5)),
    /** manage: create or update the stream and consumers at start-up; check: refuse to start on a difference. */
    setup: variable('PAYMENT_STREAM_SETUP', optional.pipe(z.enum(['manage', 'check']).optional())),
    production: PRODUCTION,
  },
  {
    // Unset: check in production, where users may not change streams. Optional in the type: callers may omit it (manage).
    derive: ({ production, setup, ...s }) =>
      Object.assign(s, { setup: setup ?? (production ? 'check' : 'manage') } as { setup?: 'manage' | 'check' }),
  },
);

const subjects = section({
  validateProducts: variable('PRODUCTS_VALIDATE_SUBJECT', text(PRODUCTS_SUBJECTS.validate)),
  createPaymentSession: variable('PAYMENTS_CREATE_SESSION_SUBJECT', text(PAYMENTS_SUBJECTS.createSession)),
  expirePaymentSession: variable('PAYMENTS_EXPIRE_SESSION_SUBJECT', text(PAYMENTS_SUBJECTS.expireSession)),
  /** Payment intents behind Stripe payment ids; unset: the default subject, empty: turned off (undefined). */
  identifyPayments: variable(
    'PAYMENTS_IDENTIFY_SUBJECT',
    z
      .string()
      .default(PAYMENTS_SUBJECTS.identify)
      .transform((value) => (value.trim() === '' ? undefined : value)),
  ),
});

const orders = section({
  currency: variable('ORDER_CURRENCY', CURRENCY.default('usd')),
  createTimeoutMs: variable('ORDER_CREATE_TIMEOUT_MS', positiveInt.default(15_000)),
  placementTimeoutMs: variable('ORDER_PLACEMENT_TIMEOUT_MS', positiveInt.default(5 * 60 * 1000)),
  paymentWindowMs: variable('ORDER_PAYMENT_WINDOW_MS', positiveInt.default(24 * 60 * 60 * 1000)),
  /** How often the gateway signals the workflows of PENDING orders whose window ended; 0: never (setTimeout's limit). */
  paymentWindowSweepMs: variable('PAYMENT_WINDOW_SWEEP_MS', int(0, 30_000, 2_147_483_647)),
  latePaymentGraceMs: variable('ORDER_LATE_PAYMENT_GRACE_MS', positiveInt.default(24 * 60 * 60 * 1000)),
  /** Messages an order's workflow run handles before it continues as new (bounds its history). */
  messagesPerRun: variable('ORDER_MESSAGES_PER_RUN', int(1, 1000)),
  /** `payment.succeeded` events the gateway hands to Temporal at once. */
  paymentConcurrency: variable('ORDER_PAYMENT_CONCURRENCY', int(1, 32, 1000)),
});

/** How the gateway and the worker tell the service's own payments from anyone else's. */
const paymentTrust = section(
  {
    /** The key the gateway signs payment signals with and the worker verifies them with. */
    signingKey: variable('PAYMENT_SIGNING_KEY', signingKey(EXAMPLE_SECRETS.PAYMENT_SIGNING_KEY)),
    /** `events`: a signed payment's amount and currency are believed; `stripe`: the worker asks Stripe first. */
    verification: variable('PAYMENT_VERIFICATION', z.enum(['events', 'stripe']).optional()),
    production: PRODUCTION,
  },
  { derive: ({ production, ...p }) => ({ ...p, verification: p.verification ?? (production ? 'stripe' : 'events') }) },
);

/** The key refund requests (worker -> payments service) and outcomes (-> gateway) are signed with. */
const refunds = section({ signingKey: variable('REFUND_SIGNING_KEY', signingKey(EXAMPLE_SECRETS.REFUND_SIGNING_KEY)) });

const stripe = section({
  secretKey: variable('STRIPE_SECRET_KEY', text(EXAMPLE_SECRETS.STRIPE_SECRET_KEY)),
  webhookSecret: variable('STRIPE_WEBHOOK_SECRET', text(EXAMPLE_SECRETS.STRIPE_WEBHOOK_SECRET)),
  apiBase: variable('STRIPE_API_BASE', url.default('http://127.0.0.1:12111')),
  // Older signed webhooks are refused as replays; 0 would disable the check, so it is not allowed.
  webhookToleranceSeconds: variable('STRIPE_WEBHOOK_TOLERANCE_SECONDS', positiveInt.default(300)),
});

const payments = section({
  httpPort: variable('PAYMENTS_HTTP_PORT', port.default(3003)),
  publicUrl: variable('PAYMENTS_PUBLIC_URL', url.default('http://localhost:3003')),
});

/** Ports of each process's /metrics, /healthz and /readyz (observability/server.ts); undefined when off (0 or empty). */
const metrics = section({
  gatewayPort: variable('GATEWAY_METRICS_PORT', optionalPort(9461)),
  workerPort: variable('WORKER_METRICS_PORT', optionalPort(9462)),
  productsPort: variable('PRODUCTS_METRICS_PORT', optionalPort(9463)),
  paymentsPort: variable('PAYMENTS_METRICS_PORT', optionalPort(9464)),
  /** The Temporal SDK's Prometheus exporter in the worker (its own /metrics). */
  workerSdkPort: variable('WORKER_SDK_METRICS_PORT', optionalPort(9465)),
});

const SECTIONS = {
  general,
  temporal,
  nats,
  paymentStream,
  subjects,
  orders,
  paymentTrust,
  refunds,
  stripe,
  payments,
  metrics,
  tracing,
  codecServer,
};

type Sections = { [K in keyof typeof SECTIONS]: z.output<(typeof SECTIONS)[K]> };
export type Config = Sections['general'] & Omit<Sections, 'general'>;
export type PaymentStreamSettings = Config['paymentStream'];
export type PaymentTrust = Config['paymentTrust'];
export type TracingSettings = Config['tracing'];

/** Every variable the services read (each documented in `.env.example`). */
export const CONFIG_KEYS = variablesOf(SECTIONS);

/** Turns every process's metrics endpoints off: for runs of many processes side by side (tests, bench). */
export const METRICS_OFF = Object.fromEntries(metrics.variables.map((key) => [key, '0'])) as Record<
  (typeof metrics.variables)[number],
  '0'
>;

/** Parses the environment of the process `role` (which needs only its own secrets in production); throws a ConfigError naming every bad variable. */
export function parseConfig(env: Env = process.env, role?: ProcessRole): Config {
  // The Temporal CLI's variables the services do not read are refused, never ignored (config/temporal-cli-env.ts).
  const writesPayloads = role === undefined || role === 'worker' || role === 'gateway';
  const { general: root, ...sections } = parseSections(env, SECTIONS, temporalCliVariableProblems(env, writesPayloads));
  const config: Config = { ...root, ...sections };
  // Every production rule, in one place; the secrets are checked on the raw environment there.
  if (isProduction.parse(env.NODE_ENV)) throwProblems(productionPostureProblems(env, config, role));
  return config;
}

/** For process entry points: read `.env` (never over the environment), parse, or exit naming the bad variables. */
export function loadConfigOrExit(role?: ProcessRole): Config {
  return parsedOrExit(() => {
    loadDotEnv();
    return parseConfig(process.env, role);
  });
}
