import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';

/** The NestJS major the peers in these tests run: what the shop's other services are on. */
export const NEST_MAJOR = 12;

/** The installed version of each NestJS package the tests' peers are built from. */
export function nestVersions(): Record<'common' | 'core' | 'microservices', string> {
  const version = (name: string): string => {
    // Read from the folder its entry point resolves to: not every @nestjs package exports package.json.
    const file = path.join(path.dirname(require.resolve(`@nestjs/${name}`)), 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  };
  return { common: version('common'), core: version('core'), microservices: version('microservices') };
}

/** Throws unless every NestJS package is of NEST_MAJOR, so a test never passes against another major. */
export function assertNestMajor(): void {
  const wrong = Object.entries(nestVersions()).filter(([, version]) => Number(version.split('.')[0]) !== NEST_MAJOR);
  if (wrong.length > 0) {
    const found = wrong.map(([name, version]) => `@nestjs/${name} ${version}`).join(', ');
    throw new Error(`The NestJS peers must run NestJS ${NEST_MAJOR}; installed: ${found}`);
  }
}

/** A real NestJS NATS client, as the HTTP client gateway and the other peers use. */
export interface NestClient {
  send<T = unknown>(subject: string, data: unknown): Promise<T>;
  /** Sends a request that must fail; resolves with the `err` object the peer answered. */
  sendExpectingError(subject: string, data: unknown): Promise<{ status: number; message: string | string[] }>;
  emit(subject: string, data: unknown): Promise<void>;
  close(): Promise<void>;
}

export async function connectNestClient(natsUrl: string): Promise<NestClient> {
  assertNestMajor();
  const proxy: ClientProxy = ClientProxyFactory.create({ transport: Transport.NATS, options: { servers: [natsUrl] } });
  await proxy.connect();
  return {
    send: <T>(subject: string, data: unknown) => firstValueFrom(proxy.send<T>(subject, data)),
    async sendExpectingError(subject, data) {
      try {
        const response = await firstValueFrom(proxy.send(subject, data));
        throw new Error(`${subject} answered ${JSON.stringify(response)} where an error was expected`);
      } catch (error) {
        if (error instanceof Error) throw error;
        return error as { status: number; message: string | string[] };
      }
    },
    emit: (subject, data) => firstValueFrom(proxy.emit(subject, data)).then(() => undefined),
    close: async () => {
      await proxy.close();
    },
  };
}
