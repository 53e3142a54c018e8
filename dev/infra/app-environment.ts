import { METRICS_OFF } from '../../src/config';
import type { ServiceEndpoints, StackContext } from './stack-context';

// Private services replace whatever the caller's shell points at (a developer's local services).
const OWN_PREFIXES = ['TEMPORAL_', 'NATS_', 'DATABASE_', 'STRIPE_', 'PAYMENTS_', 'PRODUCTS_', 'ORDER_', 'LOG_LEVEL'];
const QUIET_LEVELS = new Set(['warn', 'error', 'fatal', 'silent']);

/** The environment the stack's apps run with: the caller's, pointed at the services, plus `appEnv`. */
export function appEnvironment(ctx: StackContext, infra: ServiceEndpoints): NodeJS.ProcessEnv {
  const { sourceEnv, options } = ctx;
  if (ctx.configured) {
    const level = sourceEnv.LOG_LEVEL ?? ctx.config?.logLevel;
    return {
      ...sourceEnv,
      // The processes announce readiness with an info-level line, so they must log at least that.
      ...(level !== undefined && QUIET_LEVELS.has(level) ? { LOG_LEVEL: 'info' } : {}),
      ...options.appEnv,
    };
  }
  return {
    ...Object.fromEntries(
      Object.entries(sourceEnv).filter(([key]) => !OWN_PREFIXES.some((prefix) => key.startsWith(prefix))),
    ),
    // The apps announce themselves with an info-level "ready" line.
    LOG_LEVEL: 'info',
    TEMPORAL_ADDRESS: infra.temporalAddress,
    NATS_URL: infra.natsUrl,
    DATABASE_URL: infra.databaseUrl,
    STRIPE_API_BASE: infra.stripeApiBase,
    ...(infra.paymentsUrl
      ? { PAYMENTS_HTTP_PORT: new URL(infra.paymentsUrl).port, PAYMENTS_PUBLIC_URL: infra.paymentsUrl }
      : {}),
    // Fixed default ports could meet another run's processes (or another replica).
    ...METRICS_OFF,
    ...options.appEnv,
  };
}
