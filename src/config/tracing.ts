import { z } from 'zod';
import { flag, list, optional, optionalUrl, section, variable } from './env';

/**
 * OpenTelemetry traces (observability/tracing.ts), read from the standard OTEL_* variables as the
 * OpenTelemetry SDKs read them, plus the project's TRACING_ENABLED. Declared here, so a bad value
 * stops a process at start naming its variable. `enabled` false (the default) installs nothing.
 * The console exporter is refused in production (production-posture.ts): it writes every span and
 * its attributes to stdout.
 */

const EXPORTER = z.enum(['otlp', 'console', 'none']);
const PROTOCOL = z.enum(['http/protobuf', 'http/json', 'grpc']);
const protocol = optional.pipe(PROTOCOL.optional());

/** `key=value,key=value`, values percent-encoded (the OpenTelemetry specification's format). */
const resourceAttributes = list.transform((entries, context) => {
  const attributes: Record<string, string> = {};
  for (const entry of entries) {
    const at = entry.indexOf('=');
    const key = entry.slice(0, Math.max(at, 0)).trim();
    let value: string | undefined;
    try {
      value = decodeURIComponent(entry.slice(at + 1).trim());
    } catch {
      value = undefined;
    }
    if (key === '' || value === undefined) {
      context.addIssue({ code: 'custom', message: `must be key=value pairs, comma-separated: "${entry}"` });
      return z.NEVER;
    }
    attributes[key] = value;
  }
  return attributes;
});

export const tracing = section(
  {
    enabled: variable('TRACING_ENABLED', flag),
    /** Off whatever else is set, as the SDKs read it. */
    sdkDisabled: variable('OTEL_SDK_DISABLED', flag),
    /** otlp (the default), console, both (otlp,console), or none (no traces). */
    exporters: variable('OTEL_TRACES_EXPORTER', list.pipe(z.array(EXPORTER))),
    protocol: variable('OTEL_EXPORTER_OTLP_PROTOCOL', protocol),
    tracesProtocol: variable('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', protocol),
    otlpEndpoint: variable('OTEL_EXPORTER_OTLP_ENDPOINT', optionalUrl),
    otlpTracesEndpoint: variable('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', optionalUrl),
    /** Each process names itself (orders-gateway, orders-worker, ...) when neither this nor service.name is set. */
    serviceName: variable('OTEL_SERVICE_NAME', optional),
    resourceAttributes: variable('OTEL_RESOURCE_ATTRIBUTES', resourceAttributes),
  },
  {
    check: ({ exporters }) =>
      exporters.includes('none') && exporters.length > 1
        ? ['OTEL_TRACES_EXPORTER: none turns traces off and cannot be listed with other exporters']
        : [],
    // As the SDKs read them: a traces endpoint is used as is; over HTTP the base endpoint gets /v1/traces.
    derive: ({ enabled, sdkDisabled, exporters, otlpEndpoint, otlpTracesEndpoint, ...rest }) => {
      const otlpProtocol = rest.tracesProtocol ?? rest.protocol ?? 'http/protobuf';
      const base = otlpEndpoint?.replace(/\/+$/, '');
      const otlpTracesUrl =
        otlpTracesEndpoint ?? (base === undefined || otlpProtocol === 'grpc' ? base : `${base}/v1/traces`);
      // Asking for an exporter or an endpoint turns traces on, as TRACING_ENABLED does.
      const asked = enabled || otlpTracesUrl !== undefined || exporters.length > 0;
      return {
        enabled: asked && !sdkDisabled && !exporters.includes('none'),
        exporters: exporters.length > 0 ? (exporters as Array<'otlp' | 'console'>) : ['otlp' as const],
        otlpProtocol,
        otlpTracesUrl,
        serviceName: rest.serviceName ?? rest.resourceAttributes['service.name'],
        resourceAttributes: rest.resourceAttributes,
      };
    },
  },
);
