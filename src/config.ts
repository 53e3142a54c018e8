import { z } from 'zod';

/**
 * The one typed configuration object, parsed once from environment variables at start-up.
 * Every variable is listed, with a comment, in `.env.example`.
 */

const port = z.coerce.number().int().min(1).max(65535);
const positiveMs = z.coerce.number().int().positive();
const url = z.string().url();
const optional = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value === '' ? undefined : value));
const flag = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((value) => value === 'true' || value === '1');

const environmentSchema = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('orders'),
  TEMPORAL_TLS: flag,
  TEMPORAL_API_KEY: optional,

  NATS_URL: z.string().min(1).default('nats://127.0.0.1:4222'),
  NATS_USER: optional,
  NATS_PASSWORD: optional,
  NATS_TOKEN: optional,
  NATS_CREDS_FILE: optional,
  NATS_QUEUE_GROUP: z.string().min(1).default('orders-service'),
  NATS_REQUEST_TIMEOUT_MS: positiveMs.default(5_000),

  DATABASE_URL: url.default('postgres://postgres@127.0.0.1:5432/orders'),

  PRODUCTS_VALIDATE_SUBJECT: z.string().min(1).default('validate_products'),
  PAYMENTS_CREATE_SESSION_SUBJECT: z.string().min(1).default('create.payment.session'),
  PAYMENTS_EXPIRE_SESSION_SUBJECT: z.string().min(1).default('expire.payment.session'),
  ORDER_CURRENCY: z
    .string()
    .regex(/^[a-z]{3}$/, 'must be a three-letter lower-case ISO currency code')
    .default('usd'),
  ORDER_CREATE_TIMEOUT_MS: positiveMs.default(15_000),
  ORDER_PLACEMENT_TIMEOUT_MS: positiveMs.default(5 * 60 * 1000),
  ORDER_PAYMENT_WINDOW_MS: positiveMs.default(24 * 60 * 60 * 1000),
  ORDER_LATE_PAYMENT_GRACE_MS: positiveMs.default(24 * 60 * 60 * 1000),

  STRIPE_SECRET_KEY: z.string().min(1).default('sk_test_123'),
  STRIPE_WEBHOOK_SECRET: z.string().min(1).default('whsec_local_development_secret'),
  STRIPE_API_BASE: url.default('http://127.0.0.1:12111'),
  // Older signed webhooks are refused as replays; 0 would disable the check, so it is not allowed.
  STRIPE_WEBHOOK_TOLERANCE_SECONDS: z.coerce.number().int().positive().default(300),
  PAYMENTS_HTTP_PORT: port.default(3003),
  PAYMENTS_PUBLIC_URL: url.default('http://localhost:3003'),
});

export type Environment = z.input<typeof environmentSchema>;

export interface Config {
  logLevel: z.output<typeof environmentSchema>['LOG_LEVEL'];
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    tls: boolean;
    apiKey?: string;
  };
  nats: {
    url: string;
    user?: string;
    password?: string;
    token?: string;
    credsFile?: string;
    queueGroup: string;
    requestTimeoutMs: number;
  };
  databaseUrl: string;
  subjects: {
    validateProducts: string;
    createPaymentSession: string;
    expirePaymentSession: string;
  };
  orders: {
    currency: string;
    createTimeoutMs: number;
    placementTimeoutMs: number;
    paymentWindowMs: number;
    latePaymentGraceMs: number;
  };
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
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses the environment; throws a ConfigError naming every bad variable. */
export function parseConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const e = parsed.data;
  return {
    logLevel: e.LOG_LEVEL,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      tls: e.TEMPORAL_TLS,
      apiKey: e.TEMPORAL_API_KEY,
    },
    nats: {
      url: e.NATS_URL,
      user: e.NATS_USER,
      password: e.NATS_PASSWORD,
      token: e.NATS_TOKEN,
      credsFile: e.NATS_CREDS_FILE,
      queueGroup: e.NATS_QUEUE_GROUP,
      requestTimeoutMs: e.NATS_REQUEST_TIMEOUT_MS,
    },
    databaseUrl: e.DATABASE_URL,
    subjects: {
      validateProducts: e.PRODUCTS_VALIDATE_SUBJECT,
      createPaymentSession: e.PAYMENTS_CREATE_SESSION_SUBJECT,
      expirePaymentSession: e.PAYMENTS_EXPIRE_SESSION_SUBJECT,
    },
    orders: {
      currency: e.ORDER_CURRENCY,
      createTimeoutMs: e.ORDER_CREATE_TIMEOUT_MS,
      placementTimeoutMs: e.ORDER_PLACEMENT_TIMEOUT_MS,
      paymentWindowMs: e.ORDER_PAYMENT_WINDOW_MS,
      latePaymentGraceMs: e.ORDER_LATE_PAYMENT_GRACE_MS,
    },
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
  };
}

/** For process entry points: parse or exit with a message naming the bad variables. */
export function loadConfigOrExit(): Config {
  try {
    return parseConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
