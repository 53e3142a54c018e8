import {
  BackendTerminatedError,
  BackendTerminatedUnexpectedlyError,
  ConnectionError,
  StatementTimeoutError,
} from 'slonik';

// PostgreSQL's codes for "not now": connection exceptions (08), shutdown and startup (57P01-57P03).
const UNAVAILABLE_CODES = /^(08\d{3}|57P0[123]|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND)$/;

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
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && UNAVAILABLE_CODES.test(code)) return true;
    if (/Connection terminated|the database system is (shutting down|starting up)/.test(cause.message)) return true;
  }
  return false;
}
