/**
 * Every test file with the run's services (global setup): `npx jest <file>` and
 * jest.cluster.config.js use it as it is. `npm test` runs it as its integration project, without
 * the files of the workflow project (jest.workflow.config.js), which need none of the services.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The fault suite starts its own services and kills them: `npm run test:faults` runs it.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/faults/'],
  transform: { '^.+\\.[tj]s$': ['@swc/jest'] },
  // ESM-only dependencies: slonik (with its @slonik/* packages, p-queue, p-timeout, serialize-error),
  // node-pg-migrate, and NestJS 12 (the tests' peers). Jest loads ESM through require only under
  // --experimental-vm-modules (Node 24 too), so swc compiles them to CommonJS like the sources; the
  // workflow and fault suites reuse this.
  transformIgnorePatterns: [
    '/node_modules/(?!(slonik|@slonik/[^/]+|p-queue|p-timeout|serialize-error|node-pg-migrate|@nestjs)/)',
  ],
  // One set of real services per run (Temporal dev server, NATS, a fresh PostgreSQL database).
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  testTimeout: 60_000,
};
