import { randomUUID } from 'node:crypto';
import { parseConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { eventually } from './support/eventually';
import type { NestClient } from './support/nest-client';
import { startStandaloneGateway, type StandaloneGateway } from './support/standalone-gateway';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy';

// The gateway reaches PostgreSQL through a relay the test can cut, as an outage would.
let proxy: TcpProxy;
let gateway: StandaloneGateway;
let nest: NestClient;
const lines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  const config = parseConfig(process.env);
  const database = new URL(config.databaseUrl);
  proxy = await startTcpProxy(Number(database.port || 5432), database.hostname);
  database.port = String(proxy.port);
  const logger = createLogger('test', 'info', { write: (line: string) => void lines.push(JSON.parse(line)) });
  gateway = await startStandaloneGateway({ ...config, databaseUrl: database.toString() }, logger);
  ({ nest } = gateway);
});

afterAll(async () => {
  await gateway?.stop();
  await proxy?.close();
});

it('answers 503, not 500, while the database is unreachable, and recovers when it is back', async () => {
  // Before the cut the database answers: an unknown order is a 404, which takes a query to know.
  const unknown = randomUUID();
  expect(await nest.sendExpectingError('orders.find.one', { id: unknown })).toEqual({
    status: 404,
    message: `Order with id ${unknown} not found`,
  });
  await proxy.cut();

  const unavailable = {
    status: 503,
    message: 'The orders database is unavailable right now; retry shortly (with the same idempotencyKey)',
  };
  expect(await nest.sendExpectingError('orders.find.one', { id: randomUUID() })).toEqual(unavailable);
  expect(await nest.sendExpectingError('orders.find.all', {})).toEqual(unavailable);
  expect(await nest.sendExpectingError('orders.change.status', { id: randomUUID(), status: 'CANCELLED' })).toEqual(
    unavailable,
  );
  // A keyless create reads the database's clock first; a keyed one asks its workflow first.
  const logged = lines.length;
  expect(await nest.sendExpectingError('orders.create', { items: [{ productId: 1, quantity: 1 }] })).toEqual(
    unavailable,
  );
  // The log says what the database did, after what the caller was told.
  const failed = lines.slice(logged).find((line) => line.msg === 'request failed');
  expect(failed).toMatchObject({ subject: 'orders.create', err: { status: 503 } });
  expect((failed?.err as { message: string }).message).toMatch(new RegExp(`^${escaped(unavailable.message)}: .+`));

  // Connections the cut broke are replaced as the pool finds them dead: a few 503s may follow.
  await proxy.restore();
  await eventually(async () =>
    expect(await nest.sendExpectingError('orders.find.one', { id: randomUUID() })).toMatchObject({ status: 404 }),
  );
});

const escaped = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
