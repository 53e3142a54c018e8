import { SpanKind, SpanStatusCode, trace, type Context } from '@opentelemetry/api';
import type { JsMsg } from '@nats-io/jetstream';
import { traceContextOf } from './trace-headers';

/** Where a message without trace headers belongs, if the handler can tell (undefined: a new trace). */
export type ContextWhenMissing = (msg: JsMsg) => Promise<Context | undefined>;

// Without a registered provider (tracing off) this tracer and its spans do nothing.
const tracer = trace.getTracer('orders-service.nats');

/**
 * Handles each stream message in a consumer span that continues the publisher's trace (its
 * `traceparent` header), so what the handler does (a workflow signal) joins that trace. A message
 * without one continues the trace `whenMissing` finds for it.
 */
export function withConsumerSpan(
  subject: string,
  handle: (msg: JsMsg) => Promise<void>,
  whenMissing?: ContextWhenMissing,
): (msg: JsMsg) => Promise<void> {
  return async (msg) => {
    const carried = msg.headers?.has('traceparent') ?? false;
    const parent = (!carried && whenMissing ? await whenMissing(msg) : undefined) ?? traceContextOf(msg.headers);
    return tracer.startActiveSpan(
      `${subject} process`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'nats',
          'messaging.destination.name': msg.subject,
          'messaging.nats.stream_sequence': msg.seq,
        },
      },
      parent,
      async (span) => {
        try {
          await handle(msg);
        } catch (error) {
          span.setStatus({
            code: SpanStatusCode.ERROR,
            message: error instanceof Error ? error.message : String(error),
          });
          throw error;
        } finally {
          span.end();
        }
      },
    );
  };
}
