import { runScript } from '../support/run-command';
import { stopTestServices, TEST_SERVICES_KEY, type TestServices } from './global-setup';

/**
 * After every test file has run, `npm run audit` must find the stores consistent: whatever the
 * tests did to orders, none is missing, doubled, stuck or mismatched. Then everything is stopped.
 */
export default async function globalTeardown(): Promise<void> {
  const services = (globalThis as Record<string, unknown>)[TEST_SERVICES_KEY] as TestServices | undefined;
  if (!services) return;
  delete (globalThis as Record<string, unknown>)[TEST_SERVICES_KEY];
  try {
    const audit = await runScript('src/scripts/audit.ts', { args: ['--grace-ms=5000'] });
    if (audit.code !== 0) {
      throw new Error(`npm run audit found discrepancies after the test run:\n${audit.stdout}${audit.stderr}`);
    }
    process.stderr.write(`[test teardown] audit: ${audit.stdout.trim().split('\n').join(' | ')}\n`);
  } finally {
    await stopTestServices(services);
  }
}
