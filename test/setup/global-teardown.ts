import { stopTestServices, TEST_SERVICES_KEY, type TestServices } from './global-setup';

/** Stops what the global setup started and drops the test database. */
export default async function globalTeardown(): Promise<void> {
  const services = (globalThis as Record<string, unknown>)[TEST_SERVICES_KEY] as TestServices | undefined;
  if (!services) return;
  delete (globalThis as Record<string, unknown>)[TEST_SERVICES_KEY];
  await stopTestServices(services);
}
