import { randomUUID } from 'node:crypto';
import { RequestError, TimeoutError, type NatsConnection, type Subscription } from '@nats-io/nats-core';

/**
 * NestJS's NATS wire format, spoken directly with the `@nats-io` NATS client (no NestJS in the bench):
 *   request {pattern, data, id} with a reply subject; reply {id, response | err, isDisposed}
 *   event   {pattern, data}, a plain publish
 */

export type Outcome<T> = { ok: true; value: T } | { ok: false; kind: string; detail?: string };

/** A peer's error `{status, message}`. */
export class PeerError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

export function decodeJson(data: Uint8Array): unknown {
  return JSON.parse(decoder.decode(data));
}

/** A NestJS request; errors become an outcome whose kind is the status, 'timeout' or 'no-responders'. */
export async function nestRequest<T>(
  nats: NatsConnection,
  subject: string,
  data: unknown,
  timeoutMs: number,
): Promise<Outcome<T>> {
  let reply: { response?: unknown; err?: { status?: unknown; message?: unknown } | null };
  try {
    const msg = await nats.request(subject, encodeJson({ pattern: subject, data, id: randomUUID() }), {
      timeout: timeoutMs,
    });
    reply = decodeJson(msg.data) as typeof reply;
  } catch (error) {
    if (error instanceof TimeoutError) return { ok: false, kind: 'timeout' };
    if (error instanceof RequestError && error.isNoResponders()) return { ok: false, kind: 'no-responders' };
    return { ok: false, kind: 'request-failed', detail: (error as Error).message };
  }
  if (reply.err !== undefined && reply.err !== null) {
    const status = typeof reply.err.status === 'number' ? String(reply.err.status) : 'error';
    return { ok: false, kind: status, detail: JSON.stringify(reply.err.message) };
  }
  return { ok: true, value: reply.response as T };
}

/** The same, throwing a PeerError: for the floors, which call peers as the service does. */
export async function callPeer<T>(nats: NatsConnection, subject: string, data: unknown, timeoutMs: number): Promise<T> {
  const outcome = await nestRequest<T>(nats, subject, data, timeoutMs);
  if (outcome.ok) return outcome.value;
  const status = /^\d+$/.test(outcome.kind) ? Number(outcome.kind) : 503;
  throw new PeerError(status, `${subject}: ${outcome.kind} ${outcome.detail ?? ''}`.trim());
}

/** A NestJS event, published as a NestJS peer does (no reply, no JetStream acknowledgement). */
export function publishEvent(nats: NatsConnection, subject: string, data: unknown): void {
  nats.publish(subject, encodeJson({ pattern: subject, data }));
}

/** Answers NestJS requests on `subject` in a queue group; a thrown PeerError becomes its `err`. */
export function serveNest(
  nats: NatsConnection,
  subject: string,
  queue: string,
  handler: (payload: unknown) => Promise<unknown>,
  onError: (error: unknown) => void,
): Subscription {
  return nats.subscribe(subject, {
    queue,
    callback: (subscriptionError, msg) => {
      if (subscriptionError) {
        onError(subscriptionError);
        return;
      }
      void (async () => {
        let id: unknown;
        let reply: unknown;
        try {
          const body = decodeJson(msg.data) as { id?: unknown; data?: unknown };
          id = body.id;
          reply = { id, response: (await handler(body.data)) ?? null, isDisposed: true };
        } catch (error) {
          if (!(error instanceof PeerError)) onError(error);
          const status = error instanceof PeerError ? error.status : 500;
          reply = { id, err: { status, message: (error as Error).message }, isDisposed: true };
        }
        if (msg.reply) msg.respond(encodeJson(reply));
      })();
    },
  });
}
