import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import tls from 'node:tls';
import { connect } from '@nats-io/transport-node';
import { PermissionViolationError, type NatsConnection } from '@nats-io/nats-core';
import type { Config } from '../src/config';
import { natsConnectionOptions } from '../src/nats/connection';
import { migrate } from '../src/db/migrate';
import { ensureBinary } from '../dev/infra/binaries';
import { exitedEarlyError, spawnService, type ManagedProcess } from '../dev/infra/managed-process';
import { freePort, waitForPort } from '../dev/infra/ports';
import { createLogger } from '../src/logger';
import { dropDatabase, uniqueDatabaseUrl } from './setup/databases';

/** Shared by the security tests: certificates, specially configured servers, private databases. */

export interface Certificates {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

/**
 * A throw-away CA with one server certificate (for localhost, 127.0.0.1 and `serverName`) and one
 * client certificate, made with the openssl command line.
 */
export function makeCertificates(dir: string, serverName = 'localhost'): Certificates {
  const file = (name: string): string => path.join(dir, name);
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'pipe' });
  };
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ecKey,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=orders security test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  const sign = (name: string, subject: string, extensions: string): void => {
    writeFileSync(file(`${name}.ext`), extensions);
    openssl('req', ...ecKey, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', subject);
    openssl(
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file('ca.pem'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-out',
      file(`${name}.pem`),
      '-days',
      '2',
      '-extfile',
      file(`${name}.ext`),
    );
  };
  sign(
    'server',
    `/CN=${serverName}`,
    `subjectAltName=DNS:localhost,IP:127.0.0.1,DNS:${serverName}\nextendedKeyUsage=serverAuth\n`,
  );
  sign('client', '/CN=orders-service', 'extendedKeyUsage=clientAuth\n');
  return {
    caFile: file('ca.pem'),
    serverCertFile: file('server.pem'),
    serverKeyFile: file('server.key'),
    clientCertFile: file('client.pem'),
    clientKeyFile: file('client.key'),
  };
}

export interface ConfiguredNats extends ManagedProcess {
  port: number;
  url: string;
  logFile: string;
}

/** nats-server (with JetStream) started with `configFile`; `env` feeds the `$VARIABLES` it uses. */
export async function startConfiguredNats(options: {
  dir: string;
  name: string;
  configFile: string;
  env?: Record<string, string>;
}): Promise<ConfiguredNats> {
  const binary = await ensureBinary('nats-server', () => undefined);
  const port = await freePort();
  const logFile = path.join(options.dir, `${options.name}.log`);
  const service = await spawnService({
    name: options.name,
    command: binary,
    args: [
      '-c',
      options.configFile,
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      '-js',
      '-sd',
      path.join(options.dir, `${options.name}-js`),
    ],
    env: { ...process.env, ...options.env },
    logFile,
    detached: false,
  });
  try {
    await waitForPort('127.0.0.1', port, 30_000, () => exitedEarlyError(service));
  } catch (error) {
    await service.stop();
    throw error;
  }
  return { name: service.name, pid: service.pid, stop: service.stop, port, url: `nats://127.0.0.1:${port}`, logFile };
}

export interface TlsProxy {
  port: number;
  close(): Promise<void>;
}

/**
 * A TLS front (HTTP/2 by ALPN, as gRPC wants) for a plaintext server such as the Temporal dev
 * server, which cannot serve TLS itself. With `clientCa`, clients must present a certificate it signed.
 */
export async function startTlsProxy(options: {
  targetPort: number;
  certFile: string;
  keyFile: string;
  clientCaFile?: string;
}): Promise<TlsProxy> {
  const sockets = new Set<net.Socket>();
  const server = tls.createServer(
    {
      cert: readFileSync(options.certFile),
      key: readFileSync(options.keyFile),
      ALPNProtocols: ['h2'],
      ...(options.clientCaFile
        ? { ca: readFileSync(options.clientCaFile), requestCert: true, rejectUnauthorized: true }
        : {}),
    },
    (client) => {
      const upstream = net.connect(options.targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    },
  );
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A migrated database of the test's own, so what it stores never meets other test files' audits. */
export async function privateDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const url = uniqueDatabaseUrl(process.env.DATABASE_URL ?? '', prefix);
  await migrate(url, createLogger('security-test', 'silent'));
  return { url, drop: () => dropDatabase(url) };
}

/** `databaseUrl` connecting as `user` (with `password`) instead of its own user. */
export function asUser(databaseUrl: string, user: string, password?: string): string {
  const url = new URL(databaseUrl);
  url.username = encodeURIComponent(user);
  url.password = password === undefined ? '' : encodeURIComponent(password);
  return url.toString();
}

/** Connects once with `config` and answers the server's refusal (fails if it connects, or hangs 10 s). */
export async function natsRefusal(config: Config['nats'], name: string): Promise<Error> {
  // One attempt only: the service's own setting retries for ever, which would hide the refusal.
  const attempt = connect({ ...natsConnectionOptions(config, name), maxReconnectAttempts: 0, timeout: 3_000 }).then(
    async (nats) => {
      await nats.close();
      throw new Error('connected where a refusal was expected');
    },
    (error: unknown) => error as Error,
  );
  return Promise.race([
    attempt,
    delay(10_000, undefined, { ref: false }).then(() => {
      throw new Error('neither connected nor refused within 10 s');
    }),
  ]);
}

/** Waits for the server to refuse `action` on `nats` with a permissions violation of `operation` on `subject`. */
export async function permissionViolation(
  nats: NatsConnection,
  operation: 'publish' | 'subscription',
  subject: string,
  action: () => void,
): Promise<void> {
  const seen = (async () => {
    for await (const status of nats.status()) {
      if (status.type !== 'error' || !(status.error instanceof PermissionViolationError)) continue;
      if (status.error.operation === operation && status.error.subject === subject) return;
    }
  })();
  action();
  await nats.flush();
  await Promise.race([
    seen,
    delay(5_000, undefined, { ref: false }).then(() => {
      throw new Error(`no permissions violation for ${operation} ${subject}`);
    }),
  ]);
}
