import { context, propagation, ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/nats-core';

/**
 * The active trace context as NATS headers (`traceparent`, `tracestate`, W3C), for a request or an
 * event; undefined when there is nothing to carry (tracing off, or no span), so the message is sent
 * without headers as before. NestJS peers ignore headers they do not know.
 */
export function traceHeaders(): MsgHdrs | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  const entries = Object.entries(carrier);
  if (entries.length === 0) return undefined;
  const hdrs = natsHeaders();
  for (const [key, value] of entries) hdrs.set(key, value);
  return hdrs;
}

/** `{headers}` for a publish or request option bag, or nothing. */
export function traceHeadersOption(): { headers?: MsgHdrs } {
  const hdrs = traceHeaders();
  return hdrs !== undefined ? { headers: hdrs } : {};
}

/** The trace context a message carries in its headers (the active context when it carries none). */
export function traceContextOf(hdrs: MsgHdrs | undefined): Context {
  if (hdrs === undefined) return context.active();
  return propagation.extract(context.active(), hdrs, {
    keys: (carrier) => carrier.keys(),
    get: (carrier, key) => (carrier.has(key) ? carrier.get(key) : undefined),
  });
}

/**
 * The active trace context as one W3C `traceparent` value, to keep with an order (its workflow's
 * memo) for messages that arrive later without any: a payment Stripe reports through a webhook.
 * Undefined when tracing is off or no span is active.
 */
export function activeTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/** The context a kept `traceparent` names, as a remote parent. */
export function contextOfTraceparent(traceparent: string): Context {
  return propagation.extract(ROOT_CONTEXT, { traceparent });
}
