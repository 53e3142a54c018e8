import pino, { type Logger } from 'pino';

export type { Logger };

/** Keys whose values never reach a log line, wherever they appear in a logged object. */
const REDACTED_KEYS = [
  'password',
  'token',
  'apiKey',
  'secretKey',
  'webhookSecret',
  'authorization',
  'stripe-signature',
  'databaseUrl',
];

/** Structured JSON lines on stdout, one logger per process, named after the process. */
export function createLogger(name: string, level: string): Logger {
  return pino({
    name,
    level,
    base: { process: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: REDACTED_KEYS.flatMap((key) => [`"${key}"`, `*."${key}"`, `*.*."${key}"`]),
      censor: '[redacted]',
    },
  });
}
