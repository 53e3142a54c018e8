import { isSpanContextValid, trace } from '@opentelemetry/api';
import pino, { type DestinationStream, type Logger } from 'pino';

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

/**
 * The trace and span ids of the span active where a line is logged (OpenTelemetry's log field
 * names), so a line written while handling a traced request leads to its trace. None when no span
 * is active, as always with tracing off (observability/tracing.ts).
 */
export function activeSpanFields(): { trace_id?: string; span_id?: string; trace_flags?: string } {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (spanContext === undefined || !isSpanContextValid(spanContext)) return {};
  return {
    trace_id: spanContext.traceId,
    span_id: spanContext.spanId,
    trace_flags: spanContext.traceFlags.toString(16).padStart(2, '0'),
  };
}

/** Structured JSON lines on stdout (or `destination`), one logger per process, named after the process. */
export function createLogger(name: string, level: string, destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    name,
    level,
    base: { process: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: REDACTED_PATHS,
      censor: '[redacted]',
    },
    mixin: activeSpanFields,
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
