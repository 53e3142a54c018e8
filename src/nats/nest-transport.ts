import { randomUUID } from 'node:crypto';
import { SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { RequestError, TimeoutError, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import type { Logger } from '../logger';
import { RpcError, type RpcErrorBody } from '../rpc-error';
import { natsErrors, natsRefusedReplies, natsRequestDuration, natsRequests } from '../observability/metrics';
import { isAllowedReplySubject } from './reply-subjects';
import { traceContextOf, traceHeadersOption } from './trace-headers';

// Without a registered provider (tracing off) this tracer and its spans do nothing.
const tracer = trace.getTracer('orders-service.nats');

function endSpan(span: Span, status: number): void {
  span.setAttribute('rpc.status', status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

/**
 * NestJS's NATS wire format, in one place, so NestJS peers talk to these services unchanged:
 *   request  {pattern, data, id} with a reply subject
 *   reply    {id, response, isDisposed: true} or {id, err: {status, message}, isDisposed: true}
 *   event    {pattern, data}
 */

/** Requests larger than this are refused with a 413 before they are parsed. */
export const MAX_REQUEST_BYTES = 64 * 1024;

/**
 * Peers' answers have a limit of their own: a NestJS products service answers full product objects
 * (descriptions, images), far over the request limit. This is NATS's largest max_payload; the
 * server already bounds every message to its own (1 MiB by default).
 */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** Nobody subscribes to the subject: the peer is down, or does not offer this request at all. */
export class NoRespondersError extends RpcError {
  constructor(readonly subject: string) {
    super(503, `No service answers ${subject}`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A message body read as JSON, or why it cannot be: too large (413), not UTF-8 or not JSON (400). */
export type JsonBody = { kind: 'ok'; value: unknown } | { kind: 'invalid'; status: 400 | 413; problem: string };

/** Reads a message body as JSON, telling oversized (over `limit`), non-UTF-8 and malformed bodies apart. */
export function readJsonBody(data: Uint8Array, limit = MAX_REQUEST_BYTES): JsonBody {
  if (data.length > limit) {
    return { kind: 'invalid', status: 413, problem: `Message body is ${data.length} bytes; the limit is ${limit}` };
  }
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return { kind: 'invalid', status: 400, problem: 'Message body is not valid UTF-8' };
  }
  try {
    return { kind: 'ok', value: JSON.parse(text) };
  } catch {
    return { kind: 'invalid', status: 400, problem: 'Message body is not valid JSON' };
  }
}

/** A request's body as JSON; one that cannot be read is refused with its 4xx RpcError. */
export function parseJsonBody(data: Uint8Array, limit = MAX_REQUEST_BYTES): unknown {
  const body = readJsonBody(data, limit);
  if (body.kind === 'invalid') throw new RpcError(body.status, body.problem);
  return body.value;
}

export interface Envelope {
  id?: string;
  payload: unknown;
}

const ENVELOPE_KEYS = new Set(['pattern', 'data', 'id']);

/**
 * A NestJS envelope yields its `data`; any other JSON body is itself the payload. An envelope
 * without `data` is what `client.send(pattern, undefined)` produces (`{pattern, id}`): it carries
 * no payload, and its `id` is still echoed so the caller gets its answer.
 */
function isEnvelope(body: unknown): body is { pattern: unknown; data?: unknown; id?: unknown } {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !('pattern' in body)) return false;
  if ('data' in body) return true;
  return typeof body.pattern === 'string' && Object.keys(body).every((key) => ENVELOPE_KEYS.has(key));
}

export function openEnvelope(body: unknown): Envelope {
  if (isEnvelope(body)) return { id: typeof body.id === 'string' ? body.id : undefined, payload: body.data };
  return { payload: body };
}

export function encodeJson(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value));
}

export function toRpcError(error: unknown): RpcError {
  if (error instanceof RpcError) return error;
  return new RpcError(500, 'Internal server error');
}

/** Answers one request's payload; a thrown RpcError becomes the reply's `err`. */
export type RequestHandler = (payload: unknown) => Promise<unknown>;

/** A service's request handlers, keyed by the subject each answers. */
export type RequestHandlers = Readonly<Record<string, RequestHandler>>;

/** The handlers plus each legacy alias, answered by the handler of the subject it stands for. */
export function withAliases<Subject extends string>(
  handlers: Readonly<Record<Subject, RequestHandler>>,
  aliases: Readonly<Record<string, Subject>>,
): RequestHandlers {
  const aliased = Object.entries(aliases).map(([alias, subject]) => [alias, handlers[subject]] as const);
  return { ...handlers, ...Object.fromEntries(aliased) };
}

export interface RequestServer {
  /** The subjects it answers, aliases included. */
  subjects: string[];
  /** Stops taking requests, waits for those in flight to be answered. */
  drain(): Promise<void>;
}

/**
 * Answers requests on each subject of `handlers` in a queue group, so replicas share the work.
 * Every request is answered exactly once, whatever the handler does; unexpected errors become a
 * 500 and are logged.
 *
 * A request whose reply subject is not under `inboxPrefixes` (config.nats.inboxPrefixes), or is
 * under `$JS.`, `$SYS.`, `$KV.` or `$O.`, is not handled at all: answering it would publish on a
 * subject of the requester's choosing with this process's permissions (`$JS.API.STREAM.PURGE.…`),
 * so it has no effect at all (nothing handled, nothing published); it is logged and counted.
 */
export function serveRequests(
  nats: NatsConnection,
  handlers: RequestHandlers,
  queue: string,
  logger: Logger,
  inboxPrefixes: readonly string[],
): RequestServer {
  const inFlight = new Set<Promise<void>>();

  // One server span per request, continuing the caller's trace when its headers carry one.
  const answer = (msg: Msg, subject: string, handle: RequestHandler): Promise<void> =>
    tracer.startActiveSpan(
      `${subject} process`,
      { kind: SpanKind.SERVER, attributes: { 'messaging.system': 'nats', 'messaging.destination.name': msg.subject } },
      traceContextOf(msg.headers),
      (span) => answerIn(span, msg, subject, handle),
    );

  const answerIn = async (span: Span, msg: Msg, subject: string, handle: RequestHandler): Promise<void> => {
    const stopTimer = natsRequestDuration.startTimer({ subject });
    let id: string | undefined;
    let reply: unknown;
    let status = 200;
    try {
      const envelope = openEnvelope(parseJsonBody(msg.data));
      id = envelope.id;
      reply = { id, response: (await handle(envelope.payload)) ?? null, isDisposed: true };
    } catch (error) {
      const rpcError = toRpcError(error);
      status = rpcError.status;
      if (rpcError.status >= 500) logger.error({ err: error, subject: msg.subject }, 'request failed');
      else logger.info({ subject: msg.subject, status: rpcError.status, error: rpcError.message }, 'request refused');
      reply = { id, err: rpcError.toBody(), isDisposed: true };
    }
    if (msg.reply) msg.respond(encodeJson(reply));
    endSpan(span, status);
    stopTimer();
    natsRequests.inc({ subject, status: String(status) });
  };

  const subscriptions: Subscription[] = Object.entries(handlers).map(([subject, handle]) =>
    nats.subscribe(subject, {
      queue,
      callback: (error, msg) => {
        if (error) {
          natsErrors.inc({ kind: 'subscription' });
          logger.error({ err: error, subject }, 'subscription error');
          return;
        }
        if (msg.reply && !isAllowedReplySubject(msg.reply, inboxPrefixes)) {
          natsRefusedReplies.inc({ subject });
          logger.warn(
            { subject: msg.subject, reply: msg.reply },
            'request refused: reply subject is not a client inbox',
          );
          return;
        }
        const work = answer(msg, subject, handle).finally(() => inFlight.delete(work));
        inFlight.add(work);
      },
    }),
  );

  return {
    subjects: Object.keys(handlers),
    async drain() {
      await Promise.all(subscriptions.map((subscription) => subscription.drain()));
      await Promise.allSettled([...inFlight]);
    },
  };
}

/**
 * Sends a request to a peer and returns its `response`. A peer's `err` becomes an RpcError with
 * the peer's status; no responders and timeouts become a 503, never a hang.
 */
export function requestPeer<T>(nats: NatsConnection, subject: string, data: unknown, timeoutMs: number): Promise<T> {
  return tracer.startActiveSpan(
    `${subject} send`,
    { kind: SpanKind.CLIENT, attributes: { 'messaging.system': 'nats', 'messaging.destination.name': subject } },
    async (span) => {
      try {
        const response = await requestIn<T>(nats, subject, data, timeoutMs);
        endSpan(span, 200);
        return response;
      } catch (error) {
        endSpan(span, error instanceof RpcError ? error.status : 500);
        throw error;
      }
    },
  );
}

async function requestIn<T>(nats: NatsConnection, subject: string, data: unknown, timeoutMs: number): Promise<T> {
  const id = randomUUID();
  let msg: Msg;
  try {
    msg = await nats.request(subject, encodeJson({ pattern: subject, data, id }), {
      timeout: timeoutMs,
      ...traceHeadersOption(),
    });
  } catch (error) {
    if (error instanceof RequestError && error.isNoResponders()) {
      natsErrors.inc({ kind: 'no_responders' });
      throw new NoRespondersError(subject);
    }
    if (error instanceof TimeoutError) {
      natsErrors.inc({ kind: 'timeout' });
      throw new RpcError(503, `No answer on ${subject} within ${timeoutMs} ms`);
    }
    natsErrors.inc({ kind: 'request_failed' });
    throw new RpcError(503, `Request on ${subject} failed: ${(error as Error).message}`);
  }
  const read = readJsonBody(msg.data, MAX_RESPONSE_BYTES);
  if (read.kind === 'invalid') {
    // An unreadable answer is the peer's fault, not the caller's: a 502, never a 4xx that would
    // refuse the caller's request for good.
    throw new RpcError(502, `${subject} answered an unreadable body: ${read.problem}`, { subject });
  }
  const body = read.value as { err?: unknown; response?: unknown } | null;
  if (body !== null && typeof body === 'object' && 'err' in body && body.err !== undefined && body.err !== null) {
    const err = body.err as Partial<RpcErrorBody>;
    const status = typeof err.status === 'number' ? err.status : 500;
    const message = typeof err.message === 'string' || Array.isArray(err.message) ? err.message : `${subject} failed`;
    throw new RpcError(status, message, { subject });
  }
  return (body as { response: T }).response;
}

/** The bytes of a NestJS event; JetStream publishers (acknowledged, deduplicated) send these too. */
export function encodeEvent(subject: string, data: unknown): Uint8Array {
  return encodeJson({ pattern: subject, data });
}

/** Publishes a NestJS event (no reply expected), with the active trace context in its headers. */
export function publishEvent(nats: NatsConnection, subject: string, data: unknown): void {
  nats.publish(subject, encodeEvent(subject, data), traceHeadersOption());
}
