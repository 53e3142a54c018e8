import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nkeys } from '@nats-io/nats-core';
import { ConfigError, parseConfig } from '../src/config';
import { natsConnectionOptions } from '../src/nats/connection';
import { temporalConnectionOptions, temporalDataConverter } from '../src/temporal/connection';
import { EncryptionCodec } from '../src/security/payload-codec';

// Configuration of the security settings, and its mapping to connection options (no servers).

let dir: string;
const files: Record<'ca' | 'cert' | 'key' | 'seed', string> = { ca: '', cert: '', key: '', seed: '' };

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'orders-security-config-'));
  for (const name of ['ca', 'cert', 'key'] as const) {
    files[name] = path.join(dir, `${name}.pem`);
    writeFileSync(files[name], `-----BEGIN ${name.toUpperCase()}-----\n${name}\n-----END ${name.toUpperCase()}-----\n`);
  }
  files.seed = path.join(dir, 'user.nk');
  writeFileSync(files.seed, Buffer.from(nkeys.createUser().getSeed()));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function rejection(env: Record<string, string>): string {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be rejected`);
}

const KEY = Buffer.alloc(32, 7).toString('base64');
const OLD_KEY = Buffer.alloc(32, 9).toString('base64');

describe('Temporal connection options from TEMPORAL_* variables', () => {
  it('is plain, without an API key, by default (TLS explicitly off, not left to the SDK)', () => {
    expect(temporalConnectionOptions(parseConfig({}).temporal)).toEqual({ address: '127.0.0.1:7233', tls: false });
  });

  it('TEMPORAL_TLS=true: TLS with the system CAs', () => {
    const options = temporalConnectionOptions(
      parseConfig({ TEMPORAL_TLS: 'true', TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233' }).temporal,
    );
    expect(options).toEqual({ address: 'ns.acct.tmprl.cloud:7233', tls: {} });
  });

  it('maps the server CA, the client certificate and key, and the server name', () => {
    const config = parseConfig({
      TEMPORAL_TLS_CA_FILE: files.ca,
      TEMPORAL_TLS_CERT_FILE: files.cert,
      TEMPORAL_TLS_KEY_FILE: files.key,
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    }).temporal;
    // Any TLS setting turns TLS on, without TEMPORAL_TLS.
    expect(config.tls).toBe(true);
    const options = temporalConnectionOptions(config);
    expect(options.tls).toEqual({
      serverNameOverride: 'temporal.internal',
      serverRootCACertificate: Buffer.from(`-----BEGIN CA-----\nca\n-----END CA-----\n`),
      clientCertPair: {
        crt: Buffer.from(`-----BEGIN CERT-----\ncert\n-----END CERT-----\n`),
        key: Buffer.from(`-----BEGIN KEY-----\nkey\n-----END KEY-----\n`),
      },
    });
    expect(options.apiKey).toBeUndefined();
  });

  it('sends an API key over TLS only, even when TEMPORAL_TLS says false', () => {
    const options = temporalConnectionOptions(
      parseConfig({ TEMPORAL_API_KEY: 'key-123', TEMPORAL_TLS: 'false' }).temporal,
    );
    expect(options).toEqual({ address: '127.0.0.1:7233', tls: {}, apiKey: 'key-123' });
  });

  it('names the variable of a file that cannot be read', () => {
    const missing = path.join(dir, 'missing.pem');
    expect(() => temporalConnectionOptions(parseConfig({ TEMPORAL_TLS_CA_FILE: missing }).temporal)).toThrow(
      `TEMPORAL_TLS_CA_FILE: cannot read ${missing}`,
    );
  });

  it('refuses a client certificate without its key', () => {
    expect(rejection({ TEMPORAL_TLS_CERT_FILE: files.cert })).toContain(
      'TEMPORAL_TLS_CERT_FILE, TEMPORAL_TLS_KEY_FILE:',
    );
  });
});

describe('NATS connection options from NATS_* variables', () => {
  it('user and password, or a token', () => {
    expect(natsConnectionOptions(parseConfig({ NATS_USER: 'orders', NATS_PASSWORD: 'pw' }).nats, 'n')).toMatchObject({
      user: 'orders',
      pass: 'pw',
    });
    const token = natsConnectionOptions(parseConfig({ NATS_TOKEN: 'tok' }).nats, 'n');
    expect(token).toMatchObject({ token: 'tok' });
    expect(token.tls).toBeUndefined();
  });

  it('an NKey seed file or a credentials file becomes an authenticator that signs with that key', () => {
    // Each answers the server's nonce with the seed's public key and a signature the key verifies.
    const seed = readFileSync(files.seed, 'utf8').trim();
    const user = nkeys.fromSeed(new TextEncoder().encode(seed));
    const signsWithSeed = (answer: { nkey?: string; sig?: string }) =>
      answer.nkey === user.getPublicKey() &&
      nkeys.fromPublic(user.getPublicKey()).verify(new TextEncoder().encode('nonce-1'), nkeys.decode(answer.sig ?? ''));
    const nkey = natsConnectionOptions(parseConfig({ NATS_NKEY_SEED_FILE: files.seed }).nats, 'n').authenticator;
    expect(signsWithSeed((nkey as (nonce: string) => { nkey?: string; sig?: string })('nonce-1'))).toBe(true);
    const jwt = 'eyJ0eXAiOiJKV1QifQ.e30.test-user-jwt';
    const creds = path.join(dir, 'user.creds');
    writeFileSync(
      creds,
      `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n` +
        `-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`,
    );
    const fromCreds = natsConnectionOptions(parseConfig({ NATS_CREDS_FILE: creds }).nats, 'n').authenticator as (
      nonce: string,
    ) => { jwt?: string; nkey?: string; sig?: string };
    const answer = fromCreds('nonce-1');
    expect(answer.jwt).toBe(jwt);
    expect(signsWithSeed(answer)).toBe(true);
  });

  it('TLS from NATS_TLS, a tls:// URL or the certificate files', () => {
    expect(natsConnectionOptions(parseConfig({ NATS_TLS: 'true' }).nats, 'n').tls).toEqual({});
    expect(natsConnectionOptions(parseConfig({ NATS_URL: 'nats://a:4222, tls://b:4222' }).nats, 'n')).toMatchObject({
      servers: ['nats://a:4222', 'tls://b:4222'],
      tls: {},
    });
    const mutual = parseConfig({
      NATS_TLS_CA_FILE: files.ca,
      NATS_TLS_CERT_FILE: files.cert,
      NATS_TLS_KEY_FILE: files.key,
    });
    expect(mutual.nats.tls).toBe(true);
    expect(natsConnectionOptions(mutual.nats, 'n').tls).toEqual({
      caFile: files.ca,
      certFile: files.cert,
      keyFile: files.key,
    });
  });

  it('refuses several ways to authenticate, or a password without a user', () => {
    expect(rejection({ NATS_USER: 'a', NATS_PASSWORD: 'b', NATS_TOKEN: 'c' })).toContain('NATS_USER, NATS_TOKEN:');
    expect(rejection({ NATS_NKEY_SEED_FILE: files.seed, NATS_CREDS_FILE: files.key })).toContain(
      'NATS_NKEY_SEED_FILE, NATS_CREDS_FILE:',
    );
    expect(rejection({ NATS_PASSWORD: 'b' })).toContain('NATS_PASSWORD: needs NATS_USER');
    expect(rejection({ NATS_TLS_KEY_FILE: files.key })).toContain('NATS_TLS_CERT_FILE, NATS_TLS_KEY_FILE:');
  });
});

describe('PostgreSQL roles', () => {
  it('migrations use DATABASE_URL unless MIGRATION_DATABASE_URL is set', () => {
    const app = 'postgres://orders_service:pw@db:5432/orders';
    expect(parseConfig({ DATABASE_URL: app }).migrationDatabaseUrl).toBe(app);
    const owner = 'postgres://orders_owner:pw@db:5432/orders';
    expect(parseConfig({ DATABASE_URL: app, MIGRATION_DATABASE_URL: owner })).toMatchObject({
      databaseUrl: app,
      migrationDatabaseUrl: owner,
    });
    expect(rejection({ MIGRATION_DATABASE_URL: 'not a url' })).toContain('MIGRATION_DATABASE_URL:');
  });
});

describe('Temporal payload encryption settings', () => {
  it('is off by default: the SDK’s plain data converter', () => {
    const config = parseConfig({});
    expect(config.temporal.encryption).toBeUndefined();
    expect(temporalDataConverter(config.temporal)).toBeUndefined();
    expect(config.codecServer).toEqual({ host: '127.0.0.1', port: 8888, allowedOrigins: ['http://localhost:8233'] });
  });

  it('reads the key, its id and earlier keys, and hands the worker and clients the codec', () => {
    const config = parseConfig({
      TEMPORAL_ENCRYPTION_KEY: KEY,
      TEMPORAL_ENCRYPTION_KEY_ID: 'k2',
      TEMPORAL_ENCRYPTION_PREVIOUS_KEYS: `k1:${OLD_KEY}`,
    });
    expect(config.temporal.encryption).toEqual({
      keyId: 'k2',
      keys: { k2: Buffer.from(KEY, 'base64'), k1: Buffer.from(OLD_KEY, 'base64') },
    });
    expect(temporalDataConverter(config.temporal)?.payloadCodecs).toEqual([expect.any(EncryptionCodec)]);
  });

  it.each([
    [{ TEMPORAL_ENCRYPTION_KEY: Buffer.alloc(16).toString('base64') }, 'TEMPORAL_ENCRYPTION_KEY:'],
    [{ TEMPORAL_ENCRYPTION_KEY: 'not base64 at all, not at all, not at all!!' }, 'TEMPORAL_ENCRYPTION_KEY:'],
    [{ TEMPORAL_ENCRYPTION_KEY: KEY, TEMPORAL_ENCRYPTION_KEY_ID: 'has space' }, 'TEMPORAL_ENCRYPTION_KEY_ID:'],
    [{ TEMPORAL_ENCRYPTION_KEY: KEY, TEMPORAL_ENCRYPTION_PREVIOUS_KEYS: 'k1' }, 'TEMPORAL_ENCRYPTION_PREVIOUS_KEYS:'],
    [
      { TEMPORAL_ENCRYPTION_KEY: KEY, TEMPORAL_ENCRYPTION_PREVIOUS_KEYS: `default:${OLD_KEY}` },
      'TEMPORAL_ENCRYPTION_PREVIOUS_KEYS:',
    ],
    [{ TEMPORAL_ENCRYPTION_PREVIOUS_KEYS: `k1:${OLD_KEY}` }, 'TEMPORAL_ENCRYPTION_PREVIOUS_KEYS: needs'],
    [{ TEMPORAL_CODEC_SERVER_PORT: '0' }, 'TEMPORAL_CODEC_SERVER_PORT:'],
  ])('refuses %j', (env, message) => {
    const error = rejection(env as Record<string, string>);
    expect(error).toContain(message);
    // A message names the variable, never the key it was given.
    expect(error).not.toContain(KEY);
    expect(error).not.toContain(OLD_KEY);
  });
});
