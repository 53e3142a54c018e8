import { context, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as OTLPGrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as OTLPJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtobufTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import {
  defaultResource,
  detectResources,
  hostDetector,
  processDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { TracingSettings } from '../config';
import type { Tracing } from './tracing';

/**
 * The OpenTelemetry Node SDK and its exporters, loaded by startTracing (tracing.ts) only when
 * tracing is on: with their dependencies they are about 8 MB of every process's memory.
 */
export function startTracingSdk(
  settings: TracingSettings,
  defaultServiceName: string,
  spanProcessor?: SpanProcessor,
): Tracing {
  // As the SDK's own detectors would build it (env, process, host), from the parsed settings.
  const resource = defaultResource()
    .merge(detectResources({ detectors: [processDetector, hostDetector] }))
    .merge(
      resourceFromAttributes({
        ...settings.resourceAttributes,
        'service.name': settings.serviceName ?? defaultServiceName,
      }),
    );
  const processors = spanProcessor ? [spanProcessor] : settings.exporters.map((name) => processorFor(name, settings));
  const sdk = new NodeSDK({
    resource,
    autoDetectResources: false,
    spanProcessors: processors,
    instrumentations: [],
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  return {
    resource,
    spanProcessor: processors.length === 1 && processors[0] ? processors[0] : allOf(processors),
    async shutdown() {
      try {
        await sdk.shutdown();
      } finally {
        // So that a later start in the same process (a test) registers its own again.
        trace.disable();
        propagation.disable();
        context.disable();
      }
    },
  };
}

function processorFor(exporter: 'otlp' | 'console', settings: TracingSettings): SpanProcessor {
  if (exporter === 'console') return new SimpleSpanProcessor(new ConsoleSpanExporter());
  // Each exporter reads the other OTEL_EXPORTER_OTLP_* variables (headers, timeout, ...) itself.
  const options = settings.otlpTracesUrl === undefined ? {} : { url: settings.otlpTracesUrl };
  const exporters: Record<TracingSettings['otlpProtocol'], () => SpanExporter> = {
    'http/protobuf': () => new OTLPProtobufTraceExporter(options),
    'http/json': () => new OTLPJsonTraceExporter(options),
    grpc: () => new OTLPGrpcTraceExporter(options),
  };
  return new BatchSpanProcessor(exporters[settings.otlpProtocol]());
}

/** One processor that hands each span to all of `processors` (OTEL_TRACES_EXPORTER=otlp,console). */
function allOf(processors: SpanProcessor[]): SpanProcessor {
  const each = async (call: (processor: SpanProcessor) => Promise<void>) => {
    await Promise.all(processors.map(call));
  };
  return {
    onStart: (span, parentContext) => processors.forEach((processor) => processor.onStart(span, parentContext)),
    onEnd: (span) => processors.forEach((processor) => processor.onEnd(span)),
    forceFlush: () => each((processor) => processor.forceFlush()),
    shutdown: () => each((processor) => processor.shutdown()),
  };
}
