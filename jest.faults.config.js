/**
 * `npm run test:faults`: the fault suite (issue 4). It starts and kills its own NATS, PostgreSQL,
 * Temporal and app processes, so it has no global setup and runs apart from `npm test`.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/faults'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.[tj]s$': ['@swc/jest'] },
  // slonik requires these ESM-only packages, and NestJS 12 (the tests' peers) is ESM-only; jest
  // loads ESM through require only under --experimental-vm-modules (on Node 24 too: tried without
  // this line, p-limit fails to load), so swc compiles them to CommonJS.
  transformIgnorePatterns: ['/node_modules/(?!(p-limit|yocto-queue|@nestjs)/)'],
  testTimeout: 120_000,
};
