/** Exit codes of the `orders` command, one meaning each. */
export const EXIT = {
  ok: 0,
  /** The service answered with an error (404, 409, 422, 400, ...). */
  service: 1,
  /** The command line is wrong; nothing was sent. */
  usage: 2,
  /** NATS, Temporal or the payments service cannot be reached, or nobody answers. */
  unreachable: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the command reports in one line and exits with `exitCode`. */
export class CliError extends Error {
  override readonly name = 'CliError';

  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
  }
}
