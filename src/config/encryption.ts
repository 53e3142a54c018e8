import { z } from 'zod';
import { list, optional, variable, type Values } from './env';

// AES-256 keys are 32 random bytes, written as standard base64 (`openssl rand -base64 32`).
const AES_KEY_BASE64 = /^[A-Za-z0-9+/]{43}=?$/;
// Key ids travel in every encrypted payload's metadata: short and printable.
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Temporal payload encryption's variables, part of the temporal section. */
export const encryptionFields = {
  encryptionKey: variable(
    'TEMPORAL_ENCRYPTION_KEY',
    optional.refine(
      (value) => value === undefined || AES_KEY_BASE64.test(value),
      'must be 32 bytes in base64 (e.g. the output of `openssl rand -base64 32`)',
    ),
  ),
  encryptionKeyId: variable(
    'TEMPORAL_ENCRYPTION_KEY_ID',
    z.string().regex(KEY_ID, 'must be 1 to 64 of A-Z a-z 0-9 . _ -').default('default'),
  ),
  previousKeys: variable(
    'TEMPORAL_ENCRYPTION_PREVIOUS_KEYS',
    list.refine(
      (entries) =>
        entries.every((entry) => {
          const [id, key, ...rest] = entry.split(':');
          return rest.length === 0 && KEY_ID.test(id ?? '') && AES_KEY_BASE64.test(key ?? '');
        }),
      'must be a comma-separated list of keyId:base64Key, each key 32 bytes',
    ),
  ),
};

type EncryptionValues = Values<typeof encryptionFields>;

export interface TemporalEncryption {
  /** Id of the key new payloads are encrypted with; stored in each payload's metadata. */
  keyId: string;
  /** Every key payloads may be decrypted with, by id: the current one and earlier ones. */
  keys: Record<string, Uint8Array>;
}

export function encryptionProblems({ encryptionKey, encryptionKeyId, previousKeys }: EncryptionValues): string[] {
  const previousIds = previousKeys.map((entry) => entry.split(':')[0]);
  return [
    ...(previousIds.includes(encryptionKeyId)
      ? [`TEMPORAL_ENCRYPTION_PREVIOUS_KEYS: reuses the current key id ${encryptionKeyId}`]
      : []),
    ...(encryptionKey === undefined && previousIds.length > 0
      ? ['TEMPORAL_ENCRYPTION_PREVIOUS_KEYS: needs TEMPORAL_ENCRYPTION_KEY']
      : []),
  ];
}

/** Payload encryption; undefined (the default) means payloads are stored as plain JSON. */
export function temporalEncryption(values: EncryptionValues): TemporalEncryption | undefined {
  if (values.encryptionKey === undefined) return undefined;
  const keys: Record<string, Uint8Array> = {};
  for (const entry of values.previousKeys) {
    const [id, key] = entry.split(':') as [string, string];
    keys[id] = Buffer.from(key, 'base64');
  }
  keys[values.encryptionKeyId] = Buffer.from(values.encryptionKey, 'base64');
  return { keyId: values.encryptionKeyId, keys };
}

/** A client certificate without its key, or a key without its certificate, named by both variables. */
export function certificatePairProblems(prefix: 'NATS' | 'TEMPORAL', cert?: string, key?: string): string[] {
  if ((cert === undefined) === (key === undefined)) return [];
  return [
    `${prefix}_TLS_CERT_FILE, ${prefix}_TLS_KEY_FILE: a client certificate needs its key, and a key its certificate`,
  ];
}
