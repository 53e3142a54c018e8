import { METRICS_OFF, parseConfig } from '../../src/config';
import { jestRunIncludes, requirePrerequisites, testPrerequisites } from '../../dev/infra/prerequisites';
import { startStack, type Stack } from '../../dev/infra/stack';

/** What setup started, kept on globalThis for the teardown (both run in jest's parent process). */
export interface TestServices {
  stack?: Stack;
}

export const TEST_SERVICES_KEY = '__ordersTestServices';

/** The part of jest's global configuration the prerequisites look at: which test files this run has. */
interface RunConfig {
  rootDir?: string;
  testPathPatterns?: { patterns?: string[] } | string[];
}

/**
 * One isolated set of real services per test run (the stack launcher, dev/infra/stack.ts): an
 * in-memory Temporal dev server, a NATS server with JetStream, stripe-mock (all on free ports) and a
 * fresh database on the configured PostgreSQL. With TEST_TEMPORAL=cluster, a Temporal cluster
 * instead of the dev server (frontend, two history hosts, matching and worker as separate
 * processes, with fresh databases on the same PostgreSQL). First of all, what the run needs is
 * checked: a missing prerequisite stops it with one line saying how to install it.
 */
export default async function globalSetup(runConfig: RunConfig = {}): Promise<void> {
  const log = (line: string): void => {
    process.stderr.write(`[test setup] ${line}\n`);
  };
  const patterns = Array.isArray(runConfig.testPathPatterns)
    ? runConfig.testPathPatterns
    : (runConfig.testPathPatterns?.patterns ?? []);
  await requirePrerequisites(
    testPrerequisites({
      env: process.env,
      databaseUrl: parseConfig(process.env).databaseUrl,
      // Outside jest (test/histories/record.ts), only what every run needs.
      runs: runConfig.rootDir === undefined ? () => false : jestRunIncludes(patterns, runConfig.rootDir),
    }),
  );

  const services: TestServices = {};
  (globalThis as Record<string, unknown>)[TEST_SERVICES_KEY] = services;
  // A stack that fails to start stops what it had started (jest skips the teardown then).
  services.stack = await startStack({
    services: 'private',
    postgres: 'configured',
    temporal: process.env.TEST_TEMPORAL === 'cluster' ? 'cluster' : 'memory',
    dirPrefix: 'orders-test-',
    databasePrefix: 'orders_test',
    // A run killed before its teardown (Ctrl-C, a CI timeout) leaves no server behind.
    reaper: true,
    log,
  });
  const { stack } = services;
  Object.assign(process.env, {
    TEMPORAL_ADDRESS: stack.temporalAddress,
    NATS_URL: stack.natsUrl,
    DATABASE_URL: stack.databaseUrl,
    STRIPE_API_BASE: stack.stripeApiBase,
    TEMPORAL_CLI: stack.temporalBinary,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    // Off unless a test asks for them: processes of parallel test files must not share these ports.
    ...METRICS_OFF,
  });
}

/** Stops the services, drops the database and removes the temporary folder. */
export async function stopTestServices(services: TestServices): Promise<void> {
  await services.stack?.stop();
}
