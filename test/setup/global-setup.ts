import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { METRICS_OFF, parseConfig } from '../../src/config';
import { migrate } from '../../src/db/migrate';
import { ensureBinary } from '../../dev/infra/binaries';
import type { ManagedProcess } from '../../dev/infra/managed-process';
import { freePorts } from '../../dev/infra/ports';
import { startService } from '../../dev/infra/start-service';
import { registerSearchAttributes } from '../../dev/infra/temporal-cli';
import { startPrivateCluster } from '../../dev/infra/temporal-cluster/private-cluster';
import { createLogger } from '../../src/logger';
import { connectNats } from '../../src/nats/connection';
import { ensurePaymentStream } from '../../src/nats/payment-stream';
import { dropDatabase, uniqueDatabaseUrl } from './databases';

/** What setup started, kept on globalThis for the teardown (both run in jest's parent process). */
export interface TestServices {
  processes: ManagedProcess[];
  databaseUrl?: string;
  tempDir: string;
}

export const TEST_SERVICES_KEY = '__ordersTestServices';

/**
 * One isolated set of real services per test run: an in-memory Temporal dev server, a NATS server
 * with JetStream, stripe-mock (all on free ports) and a fresh database on the configured PostgreSQL.
 * With TEST_TEMPORAL=cluster, a Temporal cluster instead of the dev server (frontend, two history
 * hosts, matching and worker as separate processes, with fresh databases on the same PostgreSQL).
 */
export default async function globalSetup(): Promise<void> {
  const log = (line: string): void => {
    process.stderr.write(`[test setup] ${line}\n`);
  };
  const tempDir = mkdtempSync(path.join(os.tmpdir(), 'orders-test-'));
  // Tests may start a PostgreSQL cluster in here, which runs as the postgres user.
  chmodSync(tempDir, 0o755);
  const services: TestServices = { processes: [], tempDir };
  (globalThis as Record<string, unknown>)[TEST_SERVICES_KEY] = services;

  try {
    const temporalBinary = await ensureBinary('temporal', log);
    const [temporalPort, natsPort, stripePort] = (await freePorts(3)) as [number, number, number];

    // Started side by side; every one that comes up is recorded, so a failure leaves nothing behind.
    let temporalAddress = `127.0.0.1:${temporalPort}`;
    const onCluster = process.env.TEST_TEMPORAL === 'cluster';
    const outcomes = await Promise.allSettled([
      onCluster
        ? startTestCluster(tempDir, log).then((cluster) => {
            temporalAddress = cluster.address;
            return cluster;
          })
        : startService('temporal', {
            executable: temporalBinary,
            port: temporalPort,
            detached: false,
            logFile: path.join(tempDir, 'temporal.log'),
          }),
      startService('nats', {
        log,
        port: natsPort,
        storeDir: path.join(tempDir, 'nats'),
        detached: false,
        logFile: path.join(tempDir, 'nats.log'),
      }),
      startService('stripe-mock', {
        log,
        port: stripePort,
        detached: false,
        logFile: path.join(tempDir, 'stripe-mock.log'),
      }),
    ]);
    for (const outcome of outcomes) if (outcome.status === 'fulfilled') services.processes.push(outcome.value);
    for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
    // The start flag registers them on this in-memory server; registering again proves it is idempotent.
    await registerSearchAttributes(temporalBinary, temporalAddress);

    services.databaseUrl = uniqueDatabaseUrl(parseConfig(process.env).databaseUrl, 'orders_test');
    await migrate(services.databaseUrl, createLogger('test-setup', 'silent'));

    Object.assign(process.env, {
      TEMPORAL_ADDRESS: temporalAddress,
      NATS_URL: `nats://127.0.0.1:${natsPort}`,
      DATABASE_URL: services.databaseUrl,
      STRIPE_API_BASE: `http://127.0.0.1:${stripePort}`,
      TEMPORAL_CLI: temporalBinary,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
      // Off unless a test asks for them: processes of parallel test files must not share these ports.
      ...METRICS_OFF,
    });
    // As `npm run infra` does: the teardown's audit reads the stream even if no test created it.
    const config = parseConfig(process.env);
    const nc = await connectNats(config.nats, 'orders-test-setup');
    await ensurePaymentStream(nc, config.paymentStream).finally(() => nc.close());
    log(
      `Temporal ${temporalAddress}, NATS ${process.env.NATS_URL}, stripe-mock ${process.env.STRIPE_API_BASE}, ` +
        `database ${new URL(services.databaseUrl).pathname.slice(1)}`,
    );
  } catch (error) {
    // Jest skips the teardown when setup fails: clean up here.
    await stopTestServices(services);
    throw error;
  }
}

/** A cluster of its own, stopped (and its databases dropped) with the other processes. */
async function startTestCluster(
  tempDir: string,
  log: (line: string) => void,
): Promise<ManagedProcess & { address: string }> {
  const cluster = await startPrivateCluster({
    dir: path.join(tempDir, 'temporal-cluster'),
    logDir: tempDir,
    postgresUrl: parseConfig(process.env).databaseUrl,
    databasePrefix: 'temporal_test',
    detached: false,
    log,
  });
  log(`Temporal cluster: ${cluster.nodes.map((node) => `${node.name} :${node.grpcPort}`).join(', ')}`);
  return { name: 'temporal-cluster', pid: process.pid, address: cluster.address, stop: () => cluster.destroy() };
}

/** Stops the processes, drops the database and removes the temporary folder. */
export async function stopTestServices(services: TestServices): Promise<void> {
  await Promise.all(services.processes.map((service) => service.stop()));
  if (services.databaseUrl) await dropDatabase(services.databaseUrl);
  rmSync(services.tempDir, { recursive: true, force: true });
}
