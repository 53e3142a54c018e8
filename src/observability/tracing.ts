import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { TracingSettings } from '../config';

/** What a process traces with: the global provider it registered, and what workflows export through. */
export interface Tracing {
  resource: Resource;
  /** Also handed to the worker's workflow span sink, so workflow spans go where the others go. */
  spanProcessor: SpanProcessor;
  /** Sends the spans still buffered, then stops. */
  shutdown(): Promise<void>;
}

/**
 * Registers a global tracer provider (W3C trace context propagation, async context) for one
 * process, exporting over OTLP/HTTP unless a span processor is given (tests pass an in-memory one).
 * Off (undefined, nothing registered) unless the settings turn tracing on.
 */
export function startTracing(
  settings: TracingSettings,
  defaultServiceName: string,
  spanProcessor?: SpanProcessor,
): Tracing | undefined {
  if (!settings.enabled) return undefined;
  const resource = new Resource({ 'service.name': settings.serviceName ?? defaultServiceName });
  const processor =
    spanProcessor ??
    new BatchSpanProcessor(
      new OTLPTraceExporter(settings.otlpTracesUrl !== undefined ? { url: settings.otlpTracesUrl } : {}),
    );
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register();
  return { resource, spanProcessor: processor, shutdown: () => provider.shutdown() };
}
