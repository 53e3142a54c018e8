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

/** One line per secret that is missing or still the repository's example, naming the variable. */
export function productionSecretProblems(env: Record<string, string | undefined>): string[] {
  return (Object.keys(EXAMPLE_SECRETS) as SecretVariable[]).flatMap((name) => {
    const value = env[name];
    if (value === undefined || value.trim() === '') return [`${name}: must be set in production (NODE_ENV=production)`];
    if (value === EXAMPLE_SECRETS[name]) {
      return [
        `${name}: is the repository's example value, which is public; set a real secret in production (NODE_ENV=production)`,
      ];
    }
    return [];
  });
}
