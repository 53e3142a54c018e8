import { certificatePairProblems } from './encryption';
import { optional, variable, type Values } from './env';

/**
 * Temporal's TLS files, part of the temporal section. Each is also read under the name the Temporal
 * CLI (and the SDKs' environment configuration) gives it, so one environment serves the services,
 * `temporal` and `npm run tctl`; set both and they must agree. TEMPORAL_TLS, TEMPORAL_API_KEY and
 * TEMPORAL_TLS_SERVER_NAME are the same in both. The CLI's other variables (PEM contents, host
 * verification, profiles, ...) are refused, not ignored: config/temporal-cli-env.ts.
 */
export const temporalTlsFields = {
  /** PEM files: the server's CA, and this client's certificate and key (mutual TLS). */
  tlsCaFile: variable('TEMPORAL_TLS_CA_FILE', optional),
  tlsCertFile: variable('TEMPORAL_TLS_CERT_FILE', optional),
  tlsKeyFile: variable('TEMPORAL_TLS_KEY_FILE', optional),
  cliCaFile: variable('TEMPORAL_TLS_SERVER_CA_CERT_PATH', optional),
  cliCertFile: variable('TEMPORAL_TLS_CLIENT_CERT_PATH', optional),
  cliKeyFile: variable('TEMPORAL_TLS_CLIENT_KEY_PATH', optional),
};

type TlsValues = Values<typeof temporalTlsFields>;
type TlsFiles = Pick<TlsValues, 'tlsCaFile' | 'tlsCertFile' | 'tlsKeyFile'>;

/** Each service name with the Temporal CLI's name for the same file. */
const ALIASES = [
  ['tlsCaFile', 'cliCaFile'],
  ['tlsCertFile', 'cliCertFile'],
  ['tlsKeyFile', 'cliKeyFile'],
] as const;

/** A file set under both of its names to two different paths; a certificate without its key or the reverse. */
export function temporalTlsProblems(values: TlsValues): string[] {
  const conflicts = ALIASES.flatMap(([own, cli]) => {
    const [a, b] = [values[own], values[cli]];
    if (a === undefined || b === undefined || a === b) return [];
    const names = `${temporalTlsFields[own].name}, ${temporalTlsFields[cli].name}`;
    return [`${names}: two names of the same file, set to different paths; set one`];
  });
  const files = temporalTlsFiles(values);
  return conflicts.length > 0 ? conflicts : certificatePairProblems('TEMPORAL', files.tlsCertFile, files.tlsKeyFile);
}

/** The values with each file under the service's name, whichever name gave it. */
export function temporalTlsFiles<T extends TlsValues>({
  cliCaFile,
  cliCertFile,
  cliKeyFile,
  ...values
}: T): Omit<T, 'cliCaFile' | 'cliCertFile' | 'cliKeyFile'> & TlsFiles {
  return {
    ...values,
    tlsCaFile: values.tlsCaFile ?? cliCaFile,
    tlsCertFile: values.tlsCertFile ?? cliCertFile,
    tlsKeyFile: values.tlsKeyFile ?? cliKeyFile,
  };
}
