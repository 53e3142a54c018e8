import { EXAMPLE_SECRETS, type SecretVariable } from '../../src/production-secrets';

/**
 * An environment NODE_ENV=production accepts (src/production-posture.ts): NATS credentials, a real
 * PostgreSQL password, Stripe over https, Temporal over TLS, and every secret a value of its own.
 * Nothing here is reachable: for processes that must refuse something before they connect.
 */
export function securedProductionEnv(): Record<string, string> {
  const secrets = Object.fromEntries(
    (Object.keys(EXAMPLE_SECRETS) as SecretVariable[]).map((name) => [
      name,
      `${name === 'STRIPE_SECRET_KEY' ? 'sk_live_' : ''}real-${name.toLowerCase()}-7d1f0c9e4b2a4f3e8c6d5b4a3f2e1d0c`,
    ]),
  );
  return {
    NODE_ENV: 'production',
    NATS_URL: 'nats://nats.internal:4222',
    NATS_USER: 'orders-gateway',
    NATS_PASSWORD: 'nats-password-not-in-the-repo',
    DATABASE_URL: 'postgres://orders_service:db-password-not-in-the-repo@db.internal:5432/orders',
    STRIPE_API_BASE: 'https://api.stripe.com',
    TEMPORAL_ADDRESS: 'temporal.internal:7233',
    TEMPORAL_TLS: 'true',
    ...secrets,
  };
}
