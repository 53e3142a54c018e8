import Stripe from 'stripe';
import type { Config } from '../config';

export type { Stripe };

/**
 * Builds the Stripe client. The API base is configurable (host, port, protocol) so that tests and
 * local runs talk to stripe-mock instead of api.stripe.com.
 */
export function createStripeClient(config: Pick<Config['stripe'], 'secretKey' | 'apiBase'>): Stripe {
  const base = new URL(config.apiBase);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new Error(`STRIPE_API_BASE must be an http(s) URL, got protocol ${base.protocol}`);
  }
  if (base.pathname !== '/' || base.search !== '') {
    // The Stripe client always requests /v1/...; a path prefix would be silently dropped.
    throw new Error('STRIPE_API_BASE must not have a path or query (e.g. http://127.0.0.1:12111)');
  }
  const protocol = base.protocol === 'http:' ? 'http' : 'https';
  return new Stripe(config.secretKey, {
    host: base.hostname,
    port: base.port === '' ? (protocol === 'http' ? 80 : 443) : Number(base.port),
    protocol,
    // A short outage is retried here; a longer one becomes a 503 the caller retries.
    maxNetworkRetries: 1,
    timeout: 10_000,
    telemetry: false,
  });
}
