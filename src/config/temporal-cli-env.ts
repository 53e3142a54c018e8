import type { Env } from './env';

/**
 * The Temporal CLI's environment variables (temporal 1.5, and the client configuration it shares with
 * the SDKs' envconfig) that the services do not read. The CLI's TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TEMPORAL_TLS, TEMPORAL_TLS_SERVER_NAME and its three TLS file paths are read
 * (config/temporal-tls.ts); each of these is refused at start-up instead, naming what to set: left
 * alone, a client key, a CA, a profile or a relaxed check meant for Temporal would silently not apply.
 */

const AS_FILE = (file: string, cli: string) =>
  `the services read PEM files, not their contents: write it to a file and set ${file} (or ${cli})`;

/** Each refused variable, with what to set instead. */
const REFUSED: Record<string, string> = {
  // The CLI's PEM contents.
  TEMPORAL_TLS_CLIENT_CERT_DATA: AS_FILE('TEMPORAL_TLS_CERT_FILE', 'TEMPORAL_TLS_CLIENT_CERT_PATH'),
  TEMPORAL_TLS_CLIENT_KEY_DATA: AS_FILE('TEMPORAL_TLS_KEY_FILE', 'TEMPORAL_TLS_CLIENT_KEY_PATH'),
  TEMPORAL_TLS_SERVER_CA_CERT_DATA: AS_FILE('TEMPORAL_TLS_CA_FILE', 'TEMPORAL_TLS_SERVER_CA_CERT_PATH'),
  // The CLI's older names, which it still reads over everything else.
  TEMPORAL_TLS_CERT_DATA: AS_FILE('TEMPORAL_TLS_CERT_FILE', 'TEMPORAL_TLS_CLIENT_CERT_PATH'),
  TEMPORAL_TLS_KEY_DATA: AS_FILE('TEMPORAL_TLS_KEY_FILE', 'TEMPORAL_TLS_CLIENT_KEY_PATH'),
  TEMPORAL_TLS_CA_DATA: AS_FILE('TEMPORAL_TLS_CA_FILE', 'TEMPORAL_TLS_SERVER_CA_CERT_PATH'),
  TEMPORAL_TLS_CERT: "the Temporal CLI's older name of the client certificate; set TEMPORAL_TLS_CERT_FILE",
  TEMPORAL_TLS_KEY: "the Temporal CLI's older name of the client key; set TEMPORAL_TLS_KEY_FILE",
  TEMPORAL_TLS_CA: "the Temporal CLI's older name of the server CA; set TEMPORAL_TLS_CA_FILE",
  // The CLI's configuration files and profiles.
  TEMPORAL_PROFILE:
    "the services do not read the Temporal CLI's configuration profiles; set TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY and TEMPORAL_TLS_* instead",
  TEMPORAL_CONFIG_FILE:
    "the services do not read the Temporal CLI's configuration file; set TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY and TEMPORAL_TLS_* instead",
  TEMPORAL_ENV:
    "the services do not read the Temporal CLI's environment presets; set TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY and TEMPORAL_TLS_* instead",
};

/** Headers the CLI sends with every request: the services send none but the API key's. */
const GRPC_META = 'TEMPORAL_GRPC_META_';

/** Read by the CLI to show payloads through a codec server; the services encrypt with their own key. */
const CODEC = ['TEMPORAL_CODEC_ENDPOINT', 'TEMPORAL_CODEC_AUTH'];

const FALSE = ['', '0', 'f', 'false'];

/**
 * One line per Temporal CLI variable `env` sets that the services would otherwise ignore. `writesPayloads`:
 * the process hands Temporal payloads (worker, gateway), where a codec endpoint would wrongly suggest
 * that they are encoded; the operator commands leave it to the CLI (`npm run tctl` passes it on).
 */
export function temporalCliVariableProblems(env: Env, writesPayloads: boolean): string[] {
  const set = (name: string) => (env[name] ?? '').trim() !== '';
  const problems = Object.entries(REFUSED)
    .filter(([name]) => set(name))
    .map(([name, instead]) => `${name}: ${instead}`);
  const hostVerification = env.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION;
  if (hostVerification !== undefined && !FALSE.includes(hostVerification.trim().toLowerCase())) {
    problems.push(
      "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: the services always check that Temporal's certificate names its server; when it names another host, set TEMPORAL_TLS_SERVER_NAME to that name",
    );
  }
  const meta = Object.keys(env)
    .filter((name) => name.startsWith(GRPC_META) && set(name))
    .sort();
  if (meta.length > 0) {
    problems.push(
      `${meta.join(', ')}: the services send Temporal no extra gRPC headers; authenticate with TEMPORAL_API_KEY or a client certificate (TEMPORAL_TLS_CERT_FILE, TEMPORAL_TLS_KEY_FILE)`,
    );
  }
  if (writesPayloads) {
    for (const name of CODEC.filter(set)) {
      problems.push(
        `${name}: the services do not call a codec server; payloads are encrypted with TEMPORAL_ENCRYPTION_KEY (set it, and unset ${name} for the services)`,
      );
    }
  }
  return problems;
}
