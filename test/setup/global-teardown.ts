import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { stopTestServices, TEST_SERVICES_KEY, type TestServices } from './global-setup';

const run = promisify(execFile);

/**
 * After every test file has run, `npm run audit` must find the stores consistent: whatever the
 * tests did to orders, none is missing, doubled, stuck or mismatched. Then everything is stopped.
 */
export default async function globalTeardown(): Promise<void> {
  const services = (globalThis as Record<string, unknown>)[TEST_SERVICES_KEY] as TestServices | undefined;
  if (!services) return;
  delete (globalThis as Record<string, unknown>)[TEST_SERVICES_KEY];
  try {
    const audit = await run(process.execPath, [require.resolve('tsx/cli'), 'src/scripts/audit.ts', '--grace-ms=5000'], {
      cwd: path.resolve(__dirname, '../..'),
      env: process.env,
    }).catch((error: { stdout?: string; stderr?: string }) => {
      throw new Error(`npm run audit found discrepancies after the test run:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    });
    process.stderr.write(`[test teardown] audit: ${audit.stdout.trim().split('\n').join(' | ')}\n`);
  } finally {
    await stopTestServices(services);
  }
}
