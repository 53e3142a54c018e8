import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import protobuf from 'protobufjs';
import type { TemporalEncryption } from '../config';

/**
 * AES-256-GCM encryption of Temporal payloads (workflow inputs and results, activity arguments and
 * results, signals, updates, queries), so Temporal's database and its Web UI see ciphertext only.
 * The whole original payload (metadata and data) is encrypted; the key id stays readable in the
 * metadata so keys can be rotated: new payloads use the current key, old ones keep decrypting
 * with the key they name.
 */

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA_KEY = 'encryption-key-id';
export const CIPHER_METADATA_KEY = 'encryption-cipher';
const CIPHER = 'AES256-GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

// Wire-compatible with temporal.api.common.v1.Payload, so the plaintext is the payload's own
// protobuf encoding (as in Temporal's encryption samples) without depending on @temporalio/proto.
const PayloadMessage = new protobuf.Type('Payload')
  .add(new protobuf.MapField('metadata', 1, 'string', 'bytes'))
  .add(new protobuf.Field('data', 2, 'bytes'));

const text = (value: string): Uint8Array => Buffer.from(value, 'utf8');
const readText = (value: Uint8Array | null | undefined): string | undefined =>
  value === null || value === undefined ? undefined : Buffer.from(value).toString('utf8');

export class EncryptionCodec implements PayloadCodec {
  private readonly keyId: string;
  private readonly keys: ReadonlyMap<string, Uint8Array>;

  constructor(encryption: TemporalEncryption) {
    this.keyId = encryption.keyId;
    this.keys = new Map(Object.entries(encryption.keys));
    for (const [id, key] of this.keys) {
      if (key.length !== KEY_BYTES)
        throw new Error(`Encryption key ${id} is ${key.length} bytes; AES-256 needs ${KEY_BYTES}`);
    }
    if (!this.keys.has(this.keyId)) throw new Error(`No encryption key with the current id ${this.keyId}`);
  }

  // The work is synchronous; the interface is not. A throw in the executor becomes a rejection.
  encode(payloads: Payload[]): Promise<Payload[]> {
    return new Promise((resolve) => resolve(payloads.map((payload) => this.encrypt(payload))));
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    // Payloads written before encryption was turned on pass through, so old histories stay readable.
    return new Promise((resolve) =>
      resolve(payloads.map((payload) => (isEncrypted(payload) ? this.decrypt(payload) : payload))),
    );
  }

  private encrypt(payload: Payload): Payload {
    const key = this.keys.get(this.keyId) as Uint8Array;
    const plain = PayloadMessage.encode(
      PayloadMessage.create({ metadata: payload.metadata ?? {}, data: payload.data ?? new Uint8Array() }),
    ).finish();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        [METADATA_ENCODING_KEY]: text(ENCRYPTED_ENCODING),
        [CIPHER_METADATA_KEY]: text(CIPHER),
        [KEY_ID_METADATA_KEY]: text(this.keyId),
      },
      data: sealed,
    };
  }

  private decrypt(payload: Payload): Payload {
    const keyId = readText(payload.metadata?.[KEY_ID_METADATA_KEY]);
    const key = keyId === undefined ? undefined : this.keys.get(keyId);
    if (key === undefined) {
      throw new Error(`Payload encrypted with key ${keyId ?? '(no key id)'}, which is not configured`);
    }
    const cipherName = readText(payload.metadata?.[CIPHER_METADATA_KEY]) ?? CIPHER;
    if (cipherName !== CIPHER) throw new Error(`Payload encrypted with unsupported cipher ${cipherName}`);
    const sealed = Buffer.from(payload.data ?? new Uint8Array());
    if (sealed.length < IV_BYTES + TAG_BYTES) throw new Error('Encrypted payload is truncated');
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    // final() throws when the tag does not match: a tampered payload or the wrong key.
    const plain = Buffer.concat([
      decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)),
      decipher.final(),
    ]);
    const decoded = PayloadMessage.toObject(PayloadMessage.decode(plain), { bytes: Buffer, defaults: true }) as {
      metadata: Record<string, Uint8Array>;
      data: Uint8Array;
    };
    return { metadata: decoded.metadata, data: decoded.data };
  }
}

export function isEncrypted(payload: Payload): boolean {
  return readText(payload.metadata?.[METADATA_ENCODING_KEY]) === ENCRYPTED_ENCODING;
}
