import { z } from 'zod';
import { DEFAULT_INBOX_PREFIXES, inboxPrefixProblem } from './nats/reply-subjects';
import { PAYMENTS_SUBJECTS, PRODUCTS_SUBJECTS } from './nats/subjects';
import { productionPostureProblems } from './production-posture';
import { EXAMPLE_SECRETS, type ProcessRole } from './production-secrets';

/**
 * The one typed configuration object, parsed once from environment variables at start-up.
 * Every variable is listed, with a comment, in `.env.example`.
 */

const port = z.coerce.number().int().min(1).max(65535);
/** A port to listen on; 0 or empty turns the endpoint off (undefined). */
const optionalPort = z.coerce
  .number()
  .int()
  .min(0)
  .max(65535)
  .transform((value) => (value === 0 ? undefined : value));
const positiveMs = z.coerce.number().int().positive();
// Temporal stores membership ports in a smallint column.
const membershipPort = z.coerce
  .number()
  .int()
  .min(1)
  .max(32767, 'must be below 32768 (Temporal stores it as a smallint)');
const url = z.string().url();
const optional = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value === '' ? undefined : value));
const flag = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((value) => value === 'true' || value === '1');
/** A comma-separated list, blanks dropped. */
const list = z
  .string()
  .optional()
  .transform((value) =>
    (value ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  );

// AES-256 keys are 32 random bytes, written as standard base64 (`openssl rand -base64 32`).
const AES_KEY_BASE64 = /^[A-Za-z0-9+/]{43}=?$/;
// Key ids travel in every encrypted payload's metadata: short and printable.
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const encryptionKey = optional.refine((value) => value === undefined || AES_KEY_BASE64.test(value), {
  message: 'must be 32 bytes in base64 (e.g. the output of `openssl rand -base64 32`)',
});
const previousKeys = list.refine(
  (entries) =>
    entries.every((entry) => {
      const [id, key, ...rest] = entry.split(':');
      return rest.length === 0 && id !== undefined && KEY_ID.test(id) && key !== undefined && AES_KEY_BASE64.test(key);
    }),
  { message: 'must be a comma-separated list of keyId:base64Key, each key 32 bytes' },
);

const environmentSchema = z.object({
  // production: every secret set and not the repository's example, NATS, PostgreSQL, Stripe and Temporal
  // secured (production-posture.ts).
  NODE_ENV: optional,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('orders'),
  TEMPORAL_TLS: flag,
  TEMPORAL_API_KEY: optional,
  TEMPORAL_TLS_CA_FILE: optional,
  TEMPORAL_TLS_CERT_FILE: optional,
  TEMPORAL_TLS_KEY_FILE: optional,
  TEMPORAL_TLS_SERVER_NAME: optional,
  // Production accepts Temporal without TLS only when this says its network is private.
  TEMPORAL_PRIVATE_NETWORK: flag,
  TEMPORAL_ENCRYPTION_KEY: encryptionKey,
  TEMPORAL_ENCRYPTION_KEY_ID: z.string().regex(KEY_ID, 'must be 1 to 64 of A-Z a-z 0-9 . _ -').default('default'),
  TEMPORAL_ENCRYPTION_PREVIOUS_KEYS: previousKeys,
  TEMPORAL_WORKFLOW_BUNDLE: optional,
  TEMPORAL_WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).default(100),
  // The SDK's promise stack traces (the Web UI's "Stack Trace" tab); off by default for CPU and memory.
  TEMPORAL_WORKER_STACK_TRACES: flag,
  TEMPORAL_CODEC_SERVER_HOST: z.string().min(1).default('127.0.0.1'),
  TEMPORAL_CODEC_SERVER_PORT: port.default(8888),
  TEMPORAL_CODEC_SERVER_ORIGINS: list.default('http://localhost:8233'),
  // The local Temporal that `npm start` runs: the CLI's dev server, or a cluster (docs/scaling.md).
  TEMPORAL_LOCAL_SERVER: z.enum(['dev', 'cluster']).default('dev'),
  TEMPORAL_NAMESPACE_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  TEMPORAL_CLUSTER_HISTORY_SHARDS: z.coerce.number().int().min(1).max(16384).default(4),
  TEMPORAL_CLUSTER_HISTORY_HOSTS: z.coerce.number().int().min(1).max(9).default(2),
  TEMPORAL_CLUSTER_DATABASE_URL: optional.pipe(url.optional()),
  TEMPORAL_CLUSTER_VISIBILITY_DATABASE: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL name')
    .default('temporal_visibility'),
  TEMPORAL_CLUSTER_FRONTEND_HTTP_PORT: port.default(7243),
  TEMPORAL_CLUSTER_FRONTEND_MEMBERSHIP_PORT: membershipPort.default(6933),
  TEMPORAL_CLUSTER_HISTORY_PORT: port.default(7234),
  TEMPORAL_CLUSTER_HISTORY_MEMBERSHIP_PORT: membershipPort.default(6934),
  TEMPORAL_CLUSTER_MATCHING_PORT: port.default(7235),
  TEMPORAL_CLUSTER_MATCHING_MEMBERSHIP_PORT: membershipPort.default(6935),
  TEMPORAL_CLUSTER_WORKER_PORT: port.default(7239),
  TEMPORAL_CLUSTER_WORKER_MEMBERSHIP_PORT: membershipPort.default(6939),
  TEMPORAL_UI_PORT: port.default(8233),

  NATS_URL: z.string().min(1).default('nats://127.0.0.1:4222'),
  NATS_USER: optional,
  NATS_PASSWORD: optional,
  NATS_TOKEN: optional,
  NATS_CREDS_FILE: optional,
  NATS_NKEY_SEED_FILE: optional,
  NATS_TLS: flag,
  NATS_TLS_CA_FILE: optional,
  NATS_TLS_CERT_FILE: optional,
  NATS_TLS_KEY_FILE: optional,
  NATS_QUEUE_GROUP: z.string().min(1).default('orders-service'),
  NATS_REQUEST_TIMEOUT_MS: positiveMs.default(5_000),
  // Reply subjects responders answer on (nats/reply-subjects.ts); empty for the default _INBOX.
  NATS_INBOX_PREFIXES: list
    .transform((prefixes) => (prefixes.length === 0 ? [...DEFAULT_INBOX_PREFIXES] : prefixes))
    .superRefine((prefixes, context) => {
      for (const problem of prefixes.map(inboxPrefixProblem)) {
        if (problem !== undefined) context.addIssue({ code: z.ZodIssueCode.custom, message: problem });
      }
    }),
  // The deploy-time step (npm run nats:setup) sets the stream up with these instead of NATS_USER.
  NATS_ADMIN_USER: optional,
  NATS_ADMIN_PASSWORD: optional,
  PAYMENT_STREAM_MAX_AGE_MS: positiveMs.default(7 * 24 * 60 * 60 * 1000),
  PAYMENT_STREAM_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024 * 1024)
    .default(1024 * 1024 * 1024),
  PAYMENT_STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  // manage: create or update the stream and consumers at start-up; check: only compare them.
  PAYMENT_STREAM_SETUP: optional.pipe(z.enum(['manage', 'check']).optional()),

  DATABASE_URL: url.default('postgres://postgres@127.0.0.1:5432/orders'),
  MIGRATION_DATABASE_URL: optional.pipe(url.optional()),

  PRODUCTS_VALIDATE_SUBJECT: z.string().min(1).default(PRODUCTS_SUBJECTS.validate),
  PAYMENTS_CREATE_SESSION_SUBJECT: z.string().min(1).default(PAYMENTS_SUBJECTS.createSession),
  PAYMENTS_EXPIRE_SESSION_SUBJECT: z.string().min(1).default(PAYMENTS_SUBJECTS.expireSession),
  // Unset: the default subject; empty: turned off (a payments service without identify.payments).
  PAYMENTS_IDENTIFY_SUBJECT: z
    .string()
    .default(PAYMENTS_SUBJECTS.identify)
    .transform((value) => (value.trim() === '' ? undefined : value)),
  ORDER_CURRENCY: z
    .string()
    .regex(/^[a-z]{3}$/, 'must be a three-letter lower-case ISO currency code')
    .default('usd'),
  ORDER_CREATE_TIMEOUT_MS: positiveMs.default(15_000),
  ORDER_PLACEMENT_TIMEOUT_MS: positiveMs.default(5 * 60 * 1000),
  ORDER_PAYMENT_WINDOW_MS: positiveMs.default(24 * 60 * 60 * 1000),
  // How often the gateway looks for ended payment windows; 0 turns its sweeper off. At most setTimeout's limit.
  PAYMENT_WINDOW_SWEEP_MS: z.coerce.number().int().min(0).max(2_147_483_647).default(30_000),
  ORDER_LATE_PAYMENT_GRACE_MS: positiveMs.default(24 * 60 * 60 * 1000),
  ORDER_MESSAGES_PER_RUN: z.coerce.number().int().min(1).default(1000),
  ORDER_PAYMENT_CONCURRENCY: z.coerce.number().int().positive().max(1000).default(32),

  // Shared by the gateway (signs each payment it signals) and the worker (verifies it): at least 32 characters.
  PAYMENT_SIGNING_KEY: z
    .string()
    .min(32, 'must be at least 32 characters (e.g. `openssl rand -base64 32`)')
    .default(EXAMPLE_SECRETS.PAYMENT_SIGNING_KEY),
  // Shared by the worker (signs each refund request) and the payments service (refunds only what it
  // verifies; signs each refund outcome, which the gateway verifies before recording): at least 32 characters.
  REFUND_SIGNING_KEY: z
    .string()
    .min(32, 'must be at least 32 characters (e.g. `openssl rand -base64 32`)')
    .default(EXAMPLE_SECRETS.REFUND_SIGNING_KEY),
  // Which payments the worker believes: `events` trusts the payments service's events (development),
  // `stripe` asks Stripe for each payment (status, amount, currency, metadata.orderId). Default:
  // `stripe` when NODE_ENV=production, else `events`.
  PAYMENT_VERIFICATION: z.enum(['events', 'stripe']).optional(),
  STRIPE_SECRET_KEY: z.string().min(1).default(EXAMPLE_SECRETS.STRIPE_SECRET_KEY),
  STRIPE_WEBHOOK_SECRET: z.string().min(1).default(EXAMPLE_SECRETS.STRIPE_WEBHOOK_SECRET),
  STRIPE_API_BASE: url.default('http://127.0.0.1:12111'),
  // Older signed webhooks are refused as replays; 0 would disable the check, so it is not allowed.
  STRIPE_WEBHOOK_TOLERANCE_SECONDS: z.coerce.number().int().positive().default(300),
  PAYMENTS_HTTP_PORT: port.default(3003),
  PAYMENTS_PUBLIC_URL: url.default('http://localhost:3003'),

  // /metrics, /healthz and /readyz, one port per process (observability/server.ts).
  GATEWAY_METRICS_PORT: optionalPort.default(9461),
  WORKER_METRICS_PORT: optionalPort.default(9462),
  PRODUCTS_METRICS_PORT: optionalPort.default(9463),
  PAYMENTS_METRICS_PORT: optionalPort.default(9464),
  // The Temporal SDK's own Prometheus exporter, in the worker.
  WORKER_SDK_METRICS_PORT: optionalPort.default(9465),

  // OpenTelemetry traces (observability/tracing.ts): off unless one of the first two is set.
  TRACING_ENABLED: flag,
  OTEL_EXPORTER_OTLP_ENDPOINT: optional.pipe(url.optional()),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optional.pipe(url.optional()),
  OTEL_SERVICE_NAME: optional,
});

export type Environment = z.input<typeof environmentSchema>;

/** Turns every process's metrics endpoints off: for runs of many processes side by side (tests, bench). */
export const METRICS_OFF = {
  GATEWAY_METRICS_PORT: '0',
  WORKER_METRICS_PORT: '0',
  PRODUCTS_METRICS_PORT: '0',
  PAYMENTS_METRICS_PORT: '0',
  WORKER_SDK_METRICS_PORT: '0',
} as const satisfies Partial<Record<keyof Environment, string>>;

export interface Config {
  logLevel: z.output<typeof environmentSchema>['LOG_LEVEL'];
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    /** True when TEMPORAL_TLS is set, or implied by a TLS file, a server name or an API key. */
    tls: boolean;
    apiKey?: string;
    /** PEM files: the server's CA, and this client's certificate and key (mutual TLS). */
    tlsCaFile?: string;
    tlsCertFile?: string;
    tlsKeyFile?: string;
    /** Name the server's certificate is checked against, when it differs from the address's host. */
    tlsServerName?: string;
    /** TEMPORAL_PRIVATE_NETWORK: only a private network reaches Temporal, so production may use it without TLS. */
    privateNetwork: boolean;
    /** Payload encryption; absent (the default) means payloads are stored as plain JSON. */
    encryption?: TemporalEncryption;
    /** A prebuilt workflow bundle (npm run bundle:workflows); without one the worker bundles at start. */
    workflowBundle?: string;
    /** Open orders the worker keeps in memory; others are replayed from their (short) history when needed. */
    maxCachedWorkflows: number;
    /**
     * Stack traces of open workflows for the `__stack_trace` query (Web UI "Stack Trace" tab); false
     * skips the SDK's per-promise stack capture, ~15 % of the worker's CPU (worker/workflow-stack-traces.ts).
     */
    workflowStackTraces: boolean;
    /** Which local Temporal `npm start` runs when none answers at `address`. */
    profile: 'dev' | 'cluster';
    /** How long closed workflows are kept (set on the namespace; can change at any time). */
    retentionDays: number;
    /** The cluster profile's settings; the dev server ignores them. */
    cluster: TemporalClusterSettings;
  };
  nats: {
    url: string;
    user?: string;
    password?: string;
    token?: string;
    credsFile?: string;
    nkeySeedFile?: string;
    /** True when NATS_TLS is set, or implied by a tls:// URL or a TLS file. */
    tls?: boolean;
    tlsCaFile?: string;
    tlsCertFile?: string;
    tlsKeyFile?: string;
    queueGroup: string;
    requestTimeoutMs: number;
    /** Reply subject prefixes responders answer on; never `$JS.`, `$SYS.`, `$KV.` or `$O.`. */
    inboxPrefixes: string[];
    /** NATS_ADMIN_USER: who `npm run nats:setup` connects as; the credentials above when absent. */
    admin?: { user: string; password?: string };
  };
  /** Limits of the JetStream stream PAYMENTS (payment.succeeded, payment.refund.requested). */
  paymentStream: PaymentStreamSettings;
  /** The processes' connection: a role that reads and writes the tables (orders_app), not their owner. */
  databaseUrl: string;
  /** The migrations' connection, as the tables' owner; DATABASE_URL unless set. */
  migrationDatabaseUrl: string;
  subjects: {
    validateProducts: string;
    createPaymentSession: string;
    expirePaymentSession: string;
    /**
     * Asks the payments service for the payment intent behind Stripe payment ids; undefined when
     * turned off (PAYMENTS_IDENTIFY_SUBJECT empty: a payments service that does not offer it).
     */
    identifyPayments: string | undefined;
  };
  orders: {
    currency: string;
    createTimeoutMs: number;
    placementTimeoutMs: number;
    paymentWindowMs: number;
    /** How often the gateway signals the workflows of PENDING orders whose payment window ended; 0: never. */
    paymentWindowSweepMs: number;
    latePaymentGraceMs: number;
    /** Messages an order's workflow run handles before it continues as new (bounds its history). */
    messagesPerRun: number;
    /** `payment.succeeded` events the gateway hands to Temporal at once. */
    paymentConcurrency: number;
  };
  /** How the gateway and the worker tell the service's own payments from anyone else's. */
  paymentTrust: PaymentTrust;
  /** The key refund requests (worker -> payments service) and outcomes (-> gateway) are signed with. */
  refunds: { signingKey: string };
  stripe: {
    secretKey: string;
    webhookSecret: string;
    apiBase: string;
    webhookToleranceSeconds: number;
  };
  payments: {
    httpPort: number;
    publicUrl: string;
  };
  /** Ports of each process's /metrics, /healthz and /readyz; undefined when turned off (0 or empty). */
  metrics: {
    gatewayPort?: number;
    workerPort?: number;
    productsPort?: number;
    paymentsPort?: number;
    /** The Temporal SDK's Prometheus exporter in the worker (its own /metrics). */
    workerSdkPort?: number;
  };
  /** OpenTelemetry traces; `enabled` false (the default) installs nothing. */
  tracing: TracingSettings;
  /** The HTTP codec endpoint the Temporal Web UI and CLI decode encrypted payloads with. */
  codecServer: {
    host: string;
    port: number;
    /** Origins (e.g. the Web UI's) allowed to call it from a browser. */
    allowedOrigins: string[];
  };
}

export interface PaymentTrust {
  /** The key the gateway signs payment signals with and the worker verifies them with. */
  signingKey: string;
  /**
   * `events`: a signed payment's own amount and currency are believed (development, or a trusted
   * payments service); `stripe`: the worker asks Stripe for the payment before it counts.
   */
  verification: 'events' | 'stripe';
}

export interface TracingSettings {
  /** TRACING_ENABLED, or implied by an OTLP endpoint. */
  enabled: boolean;
  /** Where spans are sent (OTLP over HTTP, the full `/v1/traces` URL); the exporter's default when absent. */
  otlpTracesUrl?: string;
  /** OTEL_SERVICE_NAME; each process names itself (orders-gateway, orders-worker, ...) when absent. */
  serviceName?: string;
}

/** A Temporal cluster with PostgreSQL persistence (TEMPORAL_LOCAL_SERVER=cluster). */
export interface TemporalClusterSettings {
  /** Fixed when the cluster's database is created: changing it later needs a new cluster. */
  historyShards: number;
  /** History processes sharing the shards (membership moves a dead host's shards to the others). */
  historyHosts: number;
  /** Persistence database (its name is the path); the visibility database is on the same server. */
  databaseUrl: string;
  visibilityDatabase: string;
  /** Ports of each service; history host n (from 0) uses the history ports + 10 n. */
  ports: TemporalClusterPorts;
}

export interface TemporalClusterPorts {
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
  ui: number;
}

export interface PaymentStreamSettings {
  /** Messages older than this are dropped (JetStream max_age). */
  maxAgeMs: number;
  /** The oldest messages are dropped beyond this size (JetStream max_bytes). */
  maxBytes: number;
  /** Copies kept on a NATS cluster (JetStream num_replicas); 1 on a single server. */
  replicas: number;
  /**
   * manage (absent: the same) creates or updates the stream and its consumers at start-up; check
   * only reads them and refuses to start on a difference (runtime users may not change streams;
   * `npm run nats:setup` does, as an admin).
   */
  setup?: 'manage' | 'check';
}

export interface TemporalEncryption {
  /** Id of the key new payloads are encrypted with; stored in each payload's metadata. */
  keyId: string;
  /** Every key payloads may be decrypted with, by id: the current one and earlier ones. */
  keys: Record<string, Uint8Array>;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses the environment; throws a ConfigError naming every bad variable. */
/** Parses the environment of the process `role` (which needs only its own secrets in production). */
export function parseConfig(env: Record<string, string | undefined> = process.env, role?: ProcessRole): Config {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const e = parsed.data;
  const config: Config = {
    logLevel: e.LOG_LEVEL,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      // The SDK would turn TLS on for an API key anyway: a key is never sent in the clear.
      tls:
        e.TEMPORAL_TLS ||
        [e.TEMPORAL_TLS_CA_FILE, e.TEMPORAL_TLS_CERT_FILE, e.TEMPORAL_TLS_SERVER_NAME, e.TEMPORAL_API_KEY].some(
          (value) => value !== undefined,
        ),
      apiKey: e.TEMPORAL_API_KEY,
      tlsCaFile: e.TEMPORAL_TLS_CA_FILE,
      tlsCertFile: e.TEMPORAL_TLS_CERT_FILE,
      tlsKeyFile: e.TEMPORAL_TLS_KEY_FILE,
      tlsServerName: e.TEMPORAL_TLS_SERVER_NAME,
      privateNetwork: e.TEMPORAL_PRIVATE_NETWORK,
      encryption: temporalEncryption(e),
      workflowBundle: e.TEMPORAL_WORKFLOW_BUNDLE,
      maxCachedWorkflows: e.TEMPORAL_WORKER_MAX_CACHED_WORKFLOWS,
      workflowStackTraces: e.TEMPORAL_WORKER_STACK_TRACES,
      profile: e.TEMPORAL_LOCAL_SERVER,
      retentionDays: e.TEMPORAL_NAMESPACE_RETENTION_DAYS,
      cluster: {
        historyShards: e.TEMPORAL_CLUSTER_HISTORY_SHARDS,
        historyHosts: e.TEMPORAL_CLUSTER_HISTORY_HOSTS,
        databaseUrl:
          e.TEMPORAL_CLUSTER_DATABASE_URL ?? withDatabase(e.MIGRATION_DATABASE_URL ?? e.DATABASE_URL, 'temporal'),
        visibilityDatabase: e.TEMPORAL_CLUSTER_VISIBILITY_DATABASE,
        ports: {
          frontendHttp: e.TEMPORAL_CLUSTER_FRONTEND_HTTP_PORT,
          frontendMembership: e.TEMPORAL_CLUSTER_FRONTEND_MEMBERSHIP_PORT,
          history: e.TEMPORAL_CLUSTER_HISTORY_PORT,
          historyMembership: e.TEMPORAL_CLUSTER_HISTORY_MEMBERSHIP_PORT,
          matching: e.TEMPORAL_CLUSTER_MATCHING_PORT,
          matchingMembership: e.TEMPORAL_CLUSTER_MATCHING_MEMBERSHIP_PORT,
          worker: e.TEMPORAL_CLUSTER_WORKER_PORT,
          workerMembership: e.TEMPORAL_CLUSTER_WORKER_MEMBERSHIP_PORT,
          ui: e.TEMPORAL_UI_PORT,
        },
      },
    },
    nats: {
      url: e.NATS_URL,
      user: e.NATS_USER,
      password: e.NATS_PASSWORD,
      token: e.NATS_TOKEN,
      credsFile: e.NATS_CREDS_FILE,
      nkeySeedFile: e.NATS_NKEY_SEED_FILE,
      tls:
        e.NATS_TLS ||
        e.NATS_URL.split(',').some((server) => server.trim().toLowerCase().startsWith('tls://')) ||
        [e.NATS_TLS_CA_FILE, e.NATS_TLS_CERT_FILE].some((value) => value !== undefined),
      tlsCaFile: e.NATS_TLS_CA_FILE,
      tlsCertFile: e.NATS_TLS_CERT_FILE,
      tlsKeyFile: e.NATS_TLS_KEY_FILE,
      queueGroup: e.NATS_QUEUE_GROUP,
      requestTimeoutMs: e.NATS_REQUEST_TIMEOUT_MS,
      inboxPrefixes: e.NATS_INBOX_PREFIXES,
      ...(e.NATS_ADMIN_USER === undefined
        ? {}
        : { admin: { user: e.NATS_ADMIN_USER, password: e.NATS_ADMIN_PASSWORD } }),
    },
    paymentStream: {
      maxAgeMs: e.PAYMENT_STREAM_MAX_AGE_MS,
      maxBytes: e.PAYMENT_STREAM_MAX_BYTES,
      replicas: e.PAYMENT_STREAM_REPLICAS,
      setup: e.PAYMENT_STREAM_SETUP ?? (e.NODE_ENV === 'production' ? 'check' : 'manage'),
    },
    databaseUrl: e.DATABASE_URL,
    migrationDatabaseUrl: e.MIGRATION_DATABASE_URL ?? e.DATABASE_URL,
    subjects: {
      validateProducts: e.PRODUCTS_VALIDATE_SUBJECT,
      createPaymentSession: e.PAYMENTS_CREATE_SESSION_SUBJECT,
      expirePaymentSession: e.PAYMENTS_EXPIRE_SESSION_SUBJECT,
      identifyPayments: e.PAYMENTS_IDENTIFY_SUBJECT,
    },
    orders: {
      currency: e.ORDER_CURRENCY,
      createTimeoutMs: e.ORDER_CREATE_TIMEOUT_MS,
      placementTimeoutMs: e.ORDER_PLACEMENT_TIMEOUT_MS,
      paymentWindowMs: e.ORDER_PAYMENT_WINDOW_MS,
      paymentWindowSweepMs: e.PAYMENT_WINDOW_SWEEP_MS,
      latePaymentGraceMs: e.ORDER_LATE_PAYMENT_GRACE_MS,
      messagesPerRun: e.ORDER_MESSAGES_PER_RUN,
      paymentConcurrency: e.ORDER_PAYMENT_CONCURRENCY,
    },
    paymentTrust: {
      signingKey: e.PAYMENT_SIGNING_KEY,
      verification: e.PAYMENT_VERIFICATION ?? (e.NODE_ENV === 'production' ? 'stripe' : 'events'),
    },
    refunds: { signingKey: e.REFUND_SIGNING_KEY },
    stripe: {
      secretKey: e.STRIPE_SECRET_KEY,
      webhookSecret: e.STRIPE_WEBHOOK_SECRET,
      apiBase: e.STRIPE_API_BASE,
      webhookToleranceSeconds: e.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
    },
    payments: {
      httpPort: e.PAYMENTS_HTTP_PORT,
      publicUrl: e.PAYMENTS_PUBLIC_URL,
    },
    metrics: {
      gatewayPort: e.GATEWAY_METRICS_PORT,
      workerPort: e.WORKER_METRICS_PORT,
      productsPort: e.PRODUCTS_METRICS_PORT,
      paymentsPort: e.PAYMENTS_METRICS_PORT,
      workerSdkPort: e.WORKER_SDK_METRICS_PORT,
    },
    tracing: tracingSettings(e),
    codecServer: {
      host: e.TEMPORAL_CODEC_SERVER_HOST,
      port: e.TEMPORAL_CODEC_SERVER_PORT,
      allowedOrigins: e.TEMPORAL_CODEC_SERVER_ORIGINS,
    },
  };
  const problems = [
    ...conflictingSettings(e),
    // Every production rule, in one place; the secrets are checked on the raw environment there.
    ...(e.NODE_ENV === 'production' ? productionPostureProblems(env, config, role) : []),
  ];
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  return config;
}

type ParsedEnvironment = z.output<typeof environmentSchema>;

/** The same server and credentials, another database. */
function withDatabase(databaseUrl: string, database: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${database}`;
  url.search = '';
  return url.toString();
}

/** Settings that are valid one by one but not together, each named in the message. */
function conflictingSettings(e: ParsedEnvironment): string[] {
  const problems: string[] = [];
  const natsAuth = Object.entries({
    NATS_USER: e.NATS_USER,
    NATS_TOKEN: e.NATS_TOKEN,
    NATS_NKEY_SEED_FILE: e.NATS_NKEY_SEED_FILE,
    NATS_CREDS_FILE: e.NATS_CREDS_FILE,
  })
    .filter(([, value]) => value !== undefined)
    .map(([name]) => name);
  if (natsAuth.length > 1) problems.push(`${natsAuth.join(', ')}: set one way to authenticate to NATS, not several`);
  if (e.NATS_PASSWORD !== undefined && e.NATS_USER === undefined) problems.push('NATS_PASSWORD: needs NATS_USER');
  if (e.NATS_ADMIN_PASSWORD !== undefined && e.NATS_ADMIN_USER === undefined)
    problems.push('NATS_ADMIN_PASSWORD: needs NATS_ADMIN_USER');
  const pairs = [
    ['NATS_TLS_CERT_FILE', e.NATS_TLS_CERT_FILE, 'NATS_TLS_KEY_FILE', e.NATS_TLS_KEY_FILE],
    ['TEMPORAL_TLS_CERT_FILE', e.TEMPORAL_TLS_CERT_FILE, 'TEMPORAL_TLS_KEY_FILE', e.TEMPORAL_TLS_KEY_FILE],
  ] as const;
  for (const [certName, cert, keyName, key] of pairs) {
    if ((cert === undefined) !== (key === undefined))
      problems.push(`${certName}, ${keyName}: a client certificate needs its key, and a key its certificate`);
  }
  const previousIds = e.TEMPORAL_ENCRYPTION_PREVIOUS_KEYS.map((entry) => entry.split(':')[0]);
  if (previousIds.includes(e.TEMPORAL_ENCRYPTION_KEY_ID)) {
    problems.push(`TEMPORAL_ENCRYPTION_PREVIOUS_KEYS: reuses the current key id ${e.TEMPORAL_ENCRYPTION_KEY_ID}`);
  }
  if (e.TEMPORAL_ENCRYPTION_KEY === undefined && previousIds.length > 0) {
    problems.push('TEMPORAL_ENCRYPTION_PREVIOUS_KEYS: needs TEMPORAL_ENCRYPTION_KEY');
  }
  return problems;
}

function tracingSettings(e: ParsedEnvironment): TracingSettings {
  // As the OpenTelemetry SDKs read them: the traces URL is used as is, the base endpoint gets /v1/traces.
  const base = e.OTEL_EXPORTER_OTLP_ENDPOINT;
  const otlpTracesUrl =
    e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base === undefined ? undefined : `${base.replace(/\/+$/, '')}/v1/traces`);
  return { enabled: e.TRACING_ENABLED || otlpTracesUrl !== undefined, otlpTracesUrl, serviceName: e.OTEL_SERVICE_NAME };
}

function temporalEncryption(e: ParsedEnvironment): TemporalEncryption | undefined {
  if (e.TEMPORAL_ENCRYPTION_KEY === undefined) return undefined;
  const keys: Record<string, Uint8Array> = {};
  for (const entry of e.TEMPORAL_ENCRYPTION_PREVIOUS_KEYS) {
    const [id, key] = entry.split(':') as [string, string];
    keys[id] = Buffer.from(key, 'base64');
  }
  keys[e.TEMPORAL_ENCRYPTION_KEY_ID] = Buffer.from(e.TEMPORAL_ENCRYPTION_KEY, 'base64');
  return { keyId: e.TEMPORAL_ENCRYPTION_KEY_ID, keys };
}

/** For process entry points: parse or exit with a message naming the bad variables. */
export function loadConfigOrExit(role?: ProcessRole): Config {
  try {
    return parseConfig(process.env, role);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
