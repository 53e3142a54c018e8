/**
 * The error a request's caller receives, whatever the transport: `status` is the HTTP-like status a
 * NestJS gateway shows its client, `message` one sentence or one line per problem. Services build
 * these where they refuse a request (order failures are mapped once, in gateway/wire-errors.ts);
 * the NATS transport only puts `toBody()` into the reply's `err` (nats/nest-transport.ts).
 */

export interface RpcErrorBody {
  status: number;
  message: string | string[];
  [key: string]: unknown;
}

export class RpcError extends Error {
  override readonly name = 'RpcError';

  /** `cause`: what went wrong underneath, for this service's logs; never sent to the caller. */
  constructor(
    readonly status: number,
    readonly detail: string | string[],
    readonly extra: Record<string, unknown> = {},
    options?: { cause: unknown },
  ) {
    super(Array.isArray(detail) ? detail.join('; ') : detail, options);
  }

  toBody(): RpcErrorBody {
    return { ...this.extra, status: this.status, message: this.detail };
  }
}
