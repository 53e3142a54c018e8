import type { Resource } from '@opentelemetry/resources';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { TracingSettings } from '../config';
import type { startTracingSdk } from './tracing-sdk';

/** What a process traces with: the SDK it started, and what workflows export through. */
export interface Tracing {
  resource: Resource;
  /** Also handed to the worker's workflow span sink, so workflow spans go where the others go. */
  spanProcessor: SpanProcessor;
  /** Sends the spans still buffered, then stops and unregisters the SDK. */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry Node SDK for one process (a global tracer provider, W3C trace context
 * and baggage propagation unless OTEL_PROPAGATORS says otherwise, async context), exporting as the
 * settings' OTEL_* variables say unless a span processor is given (tests pass an in-memory one).
 * Traces only: metrics are Prometheus' (observability/metrics.ts) and logs pino's (logger.ts).
 * Off (undefined, nothing registered, the SDK not even loaded) unless the settings turn tracing on.
 */
export function startTracing(
  settings: TracingSettings,
  defaultServiceName: string,
  spanProcessor?: SpanProcessor,
): Tracing | undefined {
  if (!settings.enabled) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when tracing is on
  const sdk = require('./tracing-sdk') as { startTracingSdk: typeof startTracingSdk };
  return sdk.startTracingSdk(settings, defaultServiceName, spanProcessor);
}
