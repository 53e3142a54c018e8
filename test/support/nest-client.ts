import 'reflect-metadata';
import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';

/** A real NestJS NATS client, as the HTTP client gateway and the other peers use. */
export interface NestClient {
  send<T = unknown>(subject: string, data: unknown): Promise<T>;
  /** Sends a request that must fail; resolves with the `err` object the peer answered. */
  sendExpectingError(subject: string, data: unknown): Promise<{ status: number; message: string | string[] }>;
  emit(subject: string, data: unknown): Promise<void>;
  close(): Promise<void>;
}

export async function connectNestClient(natsUrl: string): Promise<NestClient> {
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
