import type { ClientInterceptors } from '@temporalio/client';
import type * as OpenTelemetryInterceptors from '@temporalio/interceptors-opentelemetry-v2';
import type { WorkerOptions } from '@temporalio/worker';
import type { Tracing } from '../observability/tracing';

/**
 * Temporal's OpenTelemetry interceptors for OpenTelemetry JS 2 (the `-v2` package), installed only
 * when tracing is on. Off, nothing is added. On, the workflow interceptor adds no command and no SDK
 * flag to an order's history, only spans: test/replay.test.ts replays the reference histories
 * without it and test/tracing.test.ts with it.
 */

/** The interceptors' package, loaded only when tracing is on: it brings OpenTelemetry's SDK with it. */
const interceptors = (): typeof OpenTelemetryInterceptors =>
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when tracing is on
  require('@temporalio/interceptors-opentelemetry-v2') as typeof OpenTelemetryInterceptors;

/** The workflow interceptor module; it must be in the workflow bundle (bundle-workflows.ts). */
const OTEL_WORKFLOW_INTERCEPTORS =
  require.resolve('@temporalio/interceptors-opentelemetry-v2/lib/workflow-interceptors');

/** Modules bundled with the workflow code: the same list for a prebuilt bundle and one built at start. */
export function workflowInterceptorModules(tracingEnabled: boolean): string[] {
  return tracingEnabled ? [OTEL_WORKFLOW_INTERCEPTORS] : [];
}

/** Client side: spans for start, update-with-start, signal, ..., their context sent in Temporal headers. */
export function tracingClientInterceptors(tracingEnabled: boolean): ClientInterceptors | undefined {
  return tracingEnabled ? { workflow: [new (interceptors().OpenTelemetryWorkflowClientInterceptor)()] } : undefined;
}

/** Worker side: activity spans (local activities too), and the sink workflow spans are exported through. */
export function tracingWorkerOptions(tracing: Tracing | undefined): Pick<WorkerOptions, 'interceptors' | 'sinks'> {
  if (tracing === undefined) return {};
  const { makeWorkflowExporter, OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor } =
    interceptors();
  return {
    interceptors: {
      activity: [
        (ctx) => ({
          inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
          outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
      workflowModules: workflowInterceptorModules(true),
    },
    sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
  };
}
