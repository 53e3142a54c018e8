import {
  BackendTerminatedError,
  BackendTerminatedUnexpectedlyError,
  ConnectionError,
  StatementTimeoutError,
} from 'slonik';

// PostgreSQL's codes for "not now": connection exceptions (08), shutdown and startup (57P01-57P03).
const UNAVAILABLE_CODES = /^(08\d{3}|57P0[123]|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND)$/;

/** PostgreSQL's lock_not_available: a lock not granted within lock_timeout. */
const LOCK_TIMEOUT_CODE = '55P03';

/** `error` and the errors it wraps (`cause`), outermost first. */
function* causes(error: unknown): Generator<Error> {
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) yield cause;
}

/** The PostgreSQL (or socket) code of `error` or of an error it wraps. */
const codeOf = (error: Error): string | undefined => {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
};

/** True when the database could not answer (down, restarting, unreachable), as opposed to a bug. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (
    error instanceof ConnectionError ||
    error instanceof BackendTerminatedError ||
    error instanceof BackendTerminatedUnexpectedlyError ||
    error instanceof StatementTimeoutError
  ) {
    return true;
  }
  for (const cause of causes(error)) {
    if (UNAVAILABLE_CODES.test(codeOf(cause) ?? '')) return true;
    if (/Connection terminated|the database system is (shutting down|starting up)/.test(cause.message)) return true;
  }
  return false;
}

/** True when a statement, or its wait for a lock, outlasted its bound (statement_timeout, lock_timeout). */
export function isTimeoutWaiting(error: unknown): boolean {
  if (error instanceof StatementTimeoutError) return true;
  return [...causes(error)].some((cause) => codeOf(cause) === LOCK_TIMEOUT_CODE);
}
