import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { connect } from '@nats-io/transport-node';
import { RequestError } from '@nats-io/nats-core';
import { startTestSystem } from './support/system';

/** The test support itself: a system that fails to start leaves nothing answering behind it. */
describe('a test system that fails to start', () => {
  let occupied: Server;

  beforeAll(async () => {
    occupied = createServer();
    await new Promise<void>((resolve) => occupied.listen(0, '0.0.0.0', resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => occupied.close(resolve));
  });

  it('stops the parts it had started, so they cannot answer the next test file', async () => {
    const { port } = occupied.address() as AddressInfo;
    // The gateway's metrics port is taken: the last step of the start fails.
    await expect(startTestSystem({ GATEWAY_METRICS_PORT: String(port) })).rejects.toThrow(/EADDRINUSE/);

    const nats = await connect({ servers: process.env.NATS_URL });
    try {
      const request = nats.request(
        'products.find.all',
        JSON.stringify({ pattern: 'products.find.all', data: {}, id: '1' }),
        { timeout: 2_000 },
      );
      const error = await request.catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(RequestError);
      expect((error as RequestError).isNoResponders()).toBe(true);
    } finally {
      await nats.close();
    }
  });
});
