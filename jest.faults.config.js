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
  // ESM-only dependencies compiled to CommonJS: jest.config.js says why.
  transformIgnorePatterns: require('./jest.config.js').transformIgnorePatterns,
  testTimeout: 120_000,
};
