import { setTimeout } from 'node:timers/promises';
import { createPool, SchemaValidationError, sql } from 'slonik';
import { z } from 'zod';
import { parseConfig } from '../src/config';
import { closeDatabasePool, createDatabasePool, type DatabasePool } from '../src/db/pool';
import { eventually } from './support/eventually';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy';

// The pool reaches PostgreSQL through a relay the test can cut; a second pool, direct, watches.
let proxy: TcpProxy;
let proxiedUrl: string;
let pool: DatabasePool;
let observer: DatabasePool;

beforeAll(async () => {
  const database = new URL(parseConfig(process.env).databaseUrl);
  observer = await createDatabasePool(database.toString());
  proxy = await startTcpProxy(Number(database.port || 5432), database.hostname);
  database.port = String(proxy.port);
  proxiedUrl = database.toString();
  pool = await createDatabasePool(proxiedUrl);
});

afterAll(async () => {
  await proxy?.close();
  await Promise.all([pool && closeDatabasePool(pool), observer && closeDatabasePool(observer)]);
});

const sleepers = (marker: string) =>
  observer.oneFirst(
    sql.type(z.object({ count: z.number() }))`
      SELECT count(*)::int AS count FROM pg_stat_activity
      WHERE query LIKE ${`%${marker}%`} AND pid <> pg_backend_pid()`,
  );

// slonik 47 needed a patch for both cases below (a destroy that waited on the failed query or
// release, then never ended); slonik 49's driver ends the destroy whatever they do.
it('gives back every slot when the connection drops under queries in flight, and serves again', async () => {
  // A full pool (10) plus one caller waiting for a slot, all cut off mid-query.
  const marker = `cut_${Date.now()}`;
  const queries = Array.from({ length: 11 }, () =>
    pool.query(sql.unsafe`SELECT pg_sleep(5) AS ${sql.identifier([marker])}`).then(
      () => 'answered',
      () => 'failed',
    ),
  );
  await eventually(async () => expect(await sleepers(marker)).toBe(10));
  await proxy.cut();

  // Before the fix a broken connection stayed "pending destroy" for good: its slot was never
  // freed and the waiting caller never settled.
  const deadline = setTimeout(20_000, ['still waiting'], { ref: false });
  expect(await Promise.race([Promise.all(queries), deadline])).toEqual(Array(11).fill('failed'));
  expect(pool.state()).toMatchObject({ pendingDestroyConnections: 0, acquiredConnections: 0 });

  await proxy.restore();
  await eventually(async () => expect(await pool.oneFirst(sql.unsafe`SELECT 1 AS one`)).toBe(1));
});

it('hands a connection back without a DISCARD ALL round trip', async () => {
  // slonik's default sends DISCARD ALL after every query: a round trip per query that also drops
  // the session's plans. Once a backend is idle, the last statement it ran shows what the release sent.
  const marker = `released_${Date.now()}`;
  await observer.connect(async (watcher) => {
    // The watcher is held, so the pool serves this query on another connection.
    const { pid: backend } = await observer.one(
      sql.type(z.object({ pid: z.number() }))`SELECT pg_backend_pid() AS pid, 1 AS ${sql.identifier([marker])}`,
    );
    const last = () =>
      watcher.one(
        sql.type(z.object({ state: z.string().nullable(), query: z.string() }))`
          SELECT state, query FROM pg_stat_activity WHERE pid = ${backend}`,
      );
    await eventually(async () => expect(await last()).toMatchObject({ state: 'idle' }));
    expect((await last()).query).toContain(marker);
  });
});

it('keeps no setting made for a transaction on the connection after it', async () => {
  const timeout = sql.type(z.object({ timeout: z.string() }))`SELECT current_setting('statement_timeout') AS timeout`;
  const [inside, after] = await observer.connect(async (connection) => {
    const set = await connection.transaction(async (tx) => {
      await tx.query(sql.unsafe`SELECT set_config('statement_timeout', '1234', true)`);
      return tx.oneFirst(timeout);
    });
    return [set, await connection.oneFirst(timeout)];
  });
  expect(inside).toBe('1234ms');
  expect(after).toBe('10s');
});

it('gives back the slot of a connection cut while it is reset for the next caller', async () => {
  // One slot, and a reset (slonik's own is DISCARD ALL) slow enough for the cut to land in it.
  const marker = `reset_${Date.now()}`;
  const releasing = await createPool(proxiedUrl, {
    maxPoolSize: 1,
    resetConnection: async (connection) => {
      await connection.query(`SELECT pg_sleep(5) AS ${marker}`);
    },
  });
  try {
    await expect(releasing.oneFirst(sql.unsafe`SELECT 1 AS one`)).resolves.toBe(1);
    await eventually(async () => expect(await sleepers(marker)).toBe(1));
    const next = releasing.oneFirst(sql.unsafe`SELECT 1 AS one`).then(
      () => 'answered',
      () => 'failed',
    );
    await proxy.cut();

    const deadline = setTimeout(20_000, 'still waiting', { ref: false });
    expect(await Promise.race([next, deadline])).toBe('failed');
    expect(releasing.state()).toMatchObject({ pendingDestroyConnections: 0, pendingReleaseConnections: 0 });

    await proxy.restore();
    await eventually(async () => expect(await releasing.oneFirst(sql.unsafe`SELECT 1 AS one`)).toBe(1));
  } finally {
    await closeDatabasePool(releasing);
  }
});

it('checks every row against the schema its query was typed with', async () => {
  await expect(
    observer.one(
      sql.type(z.object({ id: z.string(), n: z.number().transform((n) => n * 2) }))`SELECT 'a' AS id, 21 AS n`,
    ),
  ).resolves.toEqual({ id: 'a', n: 42 });
  // slonik's own error, not Node's "Unhandled error." that its emit on the pool raises without a listener.
  const drift = observer.one(sql.type(z.object({ id: z.number() }))`SELECT 'a' AS id`);
  await expect(drift).rejects.toBeInstanceOf(SchemaValidationError);
  await expect(drift).rejects.toMatchObject({ issues: [expect.objectContaining({ path: ['id'] })] });
});
