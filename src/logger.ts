import pino, { type Logger } from 'pino';

export type { Logger };

/** Keys whose values never reach a log line, wherever they appear in a logged object. */
const REDACTED_KEYS = [
  'password',
  'pass',
  'token',
  'apiKey',
  'secretKey',
  'webhookSecret',
  'authorization',
  'stripe-signature',
  'databaseUrl',
  'migrationDatabaseUrl',
  'connectionString',
  // Temporal payload keys (config.temporal.encryption) and client certificate keys.
  'encryption',
  'clientCertPair',
];

/** Up to four levels deep (e.g. `{ config }` holds config.nats.password at the third). */
const REDACTED_PATHS = REDACTED_KEYS.flatMap((key) => {
  // Bracket notation: the dotted form would take quotes or dashes as part of the key and match nothing.
  const property = `[${JSON.stringify(key)}]`;
  return [property, `*${property}`, `*.*${property}`, `*.*.*${property}`];
});

/** Structured JSON lines on stdout, one logger per process, named after the process. */
export function createLogger(name: string, level: string): Logger {
  return pino({
    name,
    level,
    base: { process: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: REDACTED_PATHS,
      censor: '[redacted]',
    },
  });
}
