import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { JsMsg } from 'nats';
import { traceContextOf } from './trace-headers';

// Without a registered provider (tracing off) this tracer and its spans do nothing.
const tracer = trace.getTracer('orders-service.nats');

/**
 * Handles each stream message in a consumer span that continues the publisher's trace (its
 * `traceparent` header), so what the handler does (a workflow signal) joins that trace.
 */
export function withConsumerSpan(subject: string, handle: (msg: JsMsg) => Promise<void>): (msg: JsMsg) => Promise<void> {
  return (msg) =>
    tracer.startActiveSpan(
      `${subject} process`,
      {
        kind: SpanKind.CONSUMER,
        attributes: { 'messaging.system': 'nats', 'messaging.destination.name': msg.subject, 'messaging.nats.stream_sequence': msg.seq },
      },
      traceContextOf(msg.headers),
      async (span) => {
        try {
          await handle(msg);
        } catch (error) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
          throw error;
        } finally {
          span.end();
        }
      },
    );
}
