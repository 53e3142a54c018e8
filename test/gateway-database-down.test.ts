import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { NatsConnection } from '@nats-io/nats-core';
import { parseConfig } from '../src/config';
import { createDatabasePool, type DatabasePool, closeDatabasePool } from '../src/db/pool';
import { startGateway, type Gateway } from '../src/gateway/service';
import { createLogger } from '../src/logger';
import { connectNats } from '../src/nats/connection';
import { connectTemporalClient } from '../src/temporal/connection';
import { eventually } from './support/eventually';
import { connectNestClient, type NestClient } from './support/nest-client';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy';

// The gateway reaches PostgreSQL through a relay the test can cut, as an outage would.
let proxy: TcpProxy;
let pool: DatabasePool;
let nats: NatsConnection;
let temporal: Client;
let gateway: Gateway;
let nest: NestClient;

beforeAll(async () => {
  const config = parseConfig(process.env);
  const database = new URL(config.databaseUrl);
  proxy = await startTcpProxy(Number(database.port || 5432), database.hostname);
  database.port = String(proxy.port);
  pool = await createDatabasePool(database.toString());
  // One at a time: a connection made before another failed is then assigned, and afterAll closes it
  // (a leaked one kept jest from exiting after a failed run).
  nats = await connectNats(config.nats, 'test');
  temporal = await connectTemporalClient(config.temporal);
  gateway = await startGateway({ config, logger: createLogger('test', config.logLevel), nats, temporal, pool });
  nest = await connectNestClient(config.nats.url);
});

afterAll(async () => {
  await nest?.close();
  await gateway?.stop();
  await proxy?.close();
  await Promise.all([pool && closeDatabasePool(pool), nats?.drain(), temporal?.connection.close()]);
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
  expect(await nest.sendExpectingError('orders.create', { items: [{ productId: 1, quantity: 1 }] })).toEqual(
    unavailable,
  );

  // Connections the cut broke are replaced as the pool finds them dead: a few 503s may follow.
  await proxy.restore();
  await eventually(async () =>
    expect(await nest.sendExpectingError('orders.find.one', { id: randomUUID() })).toMatchObject({ status: 404 }),
  );
});
