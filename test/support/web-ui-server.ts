import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrate } from '../../src/db/migrate';
import { ensureBinary } from '../../dev/infra/binaries';
import { freePorts, waitForPort } from '../../dev/infra/ports';
import { startService } from '../../dev/infra/start-service';
import { registerSearchAttributes } from '../../dev/infra/temporal-cli';
import { createLogger } from '../../src/logger';
import { dropDatabase, uniqueDatabaseUrl } from '../setup/databases';

export interface WebUiServer {
  /** gRPC address for TEMPORAL_ADDRESS. */
  address: string;
  /** Base URL of the Temporal Web UI. */
  uiUrl: string;
  /**
   * A database of its own for DATABASE_URL: the orders stored here have their workflows on this
   * server, not on the test run's (whose audit would miss them).
   */
  databaseUrl: string;
  stop(): Promise<void>;
}

/**
 * A Temporal dev server of the test's own, with its Web UI (the shared one of the test setup runs
 * headless), and the order search attributes registered; with a database of its own.
 */
export async function startWebUiServer(): Promise<WebUiServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orders-web-ui-'));
  const binary = await ensureBinary('temporal', () => undefined);
  const [port, uiPort] = (await freePorts(2)) as [number, number];
  const server = await startService('temporal', {
    executable: binary,
    port,
    uiPort,
    detached: false,
    logFile: path.join(dir, 'temporal.log'),
  });
  const address = `127.0.0.1:${port}`;
  const databaseUrl = uniqueDatabaseUrl(process.env.DATABASE_URL ?? '', 'orders_web_ui');
  try {
    await registerSearchAttributes(binary, address);
    await waitForPort('127.0.0.1', uiPort, 30_000);
    await migrate(databaseUrl, createLogger('web-ui-test', 'silent'));
  } catch (error) {
    await server.stop();
    throw error;
  }
  return {
    address,
    uiUrl: `http://127.0.0.1:${uiPort}`,
    databaseUrl,
    async stop() {
      await server.stop();
      await dropDatabase(databaseUrl);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
