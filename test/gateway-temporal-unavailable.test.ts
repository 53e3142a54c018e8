import { randomUUID } from 'node:crypto';
import { parseConfig } from '../src/config';
import { createLogger } from '../src/logger';
import type { NestClient } from './support/nest-client';
import { startStandaloneGateway, type StandaloneGateway } from './support/standalone-gateway';

// A gateway whose Temporal namespace does not exist, as a misconfigured deployment's would be:
// every create fails in Temporal's client, for a reason the caller is not told and the log must be.
const NAMESPACE = `missing-${randomUUID().slice(0, 8)}`;
const lines: Array<Record<string, unknown>> = [];
let gateway: StandaloneGateway;
let nest: NestClient;

beforeAll(async () => {
  const config = parseConfig({ ...process.env, TEMPORAL_NAMESPACE: NAMESPACE });
  const logger = createLogger('test', 'info', { write: (line: string) => void lines.push(JSON.parse(line)) });
  gateway = await startStandaloneGateway(config, logger);
  ({ nest } = gateway);
});

afterAll(async () => {
  await gateway?.stop();
});

it('answers a create 503 when Temporal refuses it, and logs why, which the caller is not told', async () => {
  const product = { productId: 1, quantity: 1 };
  for (const request of [{ items: [product], idempotencyKey: randomUUID() }, { items: [product] }]) {
    const failed = lines.length;
    expect(await nest.sendExpectingError('orders.create', request)).toEqual({
      status: 503,
      message: 'The order service is temporarily unavailable',
    });
    const logged = lines.slice(failed).find((line) => line.msg === 'request failed');
    // Temporal's own words, under the caller's: the namespace it could not find.
    expect(logged).toMatchObject({
      subject: 'orders.create',
      err: { type: 'RpcError', status: 503, message: expect.stringContaining(NAMESPACE) },
    });
  }
});
