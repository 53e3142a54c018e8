/**
 * Secrets the repository ships as examples, so that `npm start` works on a developer's machine.
 * They are public (in this repository, `.env.example` and the docs), so they sign and unlock
 * nothing: in production (NODE_ENV=production) a process refuses to start with any of them,
 * or with the secret missing, naming the variable.
 */
export const EXAMPLE_SECRETS = {
  STRIPE_SECRET_KEY: 'sk_test_123',
  STRIPE_WEBHOOK_SECRET: 'whsec_local_development_secret',
  PAYMENT_SIGNING_KEY: 'local-development-payment-signing-key',
  REFUND_SIGNING_KEY: 'local-development-refund-signing-key',
} as const;

export type SecretVariable = keyof typeof EXAMPLE_SECRETS;

/**
 * Values that stand for a secret someone has yet to set, as example files write them
 * (deploy/k8s/examples/secrets.example.yaml): refused in production for every secret and password.
 */
export const PLACEHOLDER_VALUES: readonly string[] = [
  'replace-me',
  'replace_me',
  'replaceme',
  'change-me',
  'change_me',
  'changeme',
  'placeholder',
  'todo',
  'xxx',
  '…',
  '...',
];

/** True for a placeholder (PLACEHOLDER_VALUES, any case, surrounding spaces ignored). */
export function isPlaceholder(value: string): boolean {
  return PLACEHOLDER_VALUES.includes(value.trim().toLowerCase());
}

/**
 * Which process reads which secret: each process is given, and requires in production, only its
 * own, so a compromised products service (say) holds no key that pays, refunds or signs. The
 * deploy steps `migrate` (npm run migrate), `nats-setup` (npm run nats:setup) and `seed` (npm run
 * seed), and `tool`, the operator's commands (audit, the orders CLI, tctl), need none;
 * `codec-server`: npm run codec-server. What each connects to, and so the credentials it needs,
 * is CONNECTIONS_OF in production-posture.ts.
 */
export const SECRETS_OF = {
  gateway: ['PAYMENT_SIGNING_KEY', 'REFUND_SIGNING_KEY'],
  // STRIPE_SECRET_KEY too when it verifies payments with Stripe (a restricted read-only key is enough).
  worker: ['PAYMENT_SIGNING_KEY', 'REFUND_SIGNING_KEY'],
  products: [],
  payments: ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET', 'REFUND_SIGNING_KEY'],
  migrate: [],
  'nats-setup': [],
  seed: [],
  tool: [],
  // Its own token (TEMPORAL_CODEC_SERVER_TOKEN) is required in production by production-posture.ts.
  'codec-server': [],
} as const satisfies Record<string, readonly SecretVariable[]>;

export type ProcessRole = keyof typeof SECRETS_OF;

/** One line per secret of `names` (every one by default) that is missing or still the repository's example. */
export function productionSecretProblems(
  env: Record<string, string | undefined>,
  names: readonly SecretVariable[] = Object.keys(EXAMPLE_SECRETS) as SecretVariable[],
): string[] {
  return names.flatMap((name) => {
    const value = env[name];
    if (value === undefined || value.trim() === '') return [`${name}: must be set in production (NODE_ENV=production)`];
    if (isPlaceholder(value)) {
      return [`${name}: is a placeholder, not a secret; set a real one in production (NODE_ENV=production)`];
    }
    if (value === EXAMPLE_SECRETS[name]) {
      return [
        `${name}: is the repository's example value, which is public; set a real secret in production (NODE_ENV=production)`,
      ];
    }
    return [];
  });
}
