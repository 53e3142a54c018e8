/**
 * `npm run test:workflow`: the tests that need none of the run's services, so no global setup:
 * the OrderWorkflow with stub activities (each file on a Temporal dev server of its own), the
 * upgrade test, the replay of the recorded histories and the unit tests. `npm test` runs them
 * beside the integration tests (jest.all.config.js).
 * @type {import('jest').Config}
 */
module.exports = {
  displayName: 'workflow',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: [
    '<rootDir>/test/order-workflow.test.ts',
    '<rootDir>/test/replay.test.ts',
    '<rootDir>/test/workflow/**/*.test.ts',
    '<rootDir>/test/unit/**/*.test.ts',
  ],
  transform: { '^.+\\.[tj]s$': ['@swc/jest'] },
  // ESM-only dependencies compiled to CommonJS: jest.config.js says why.
  transformIgnorePatterns: require('./jest.config.js').transformIgnorePatterns,
  testTimeout: 30_000,
};

/** The same files as patterns of paths, for the integration project to leave out (not a jest option). */
Object.defineProperty(module.exports, 'testPaths', {
  enumerable: false,
  value: [
    '<rootDir>/test/order-workflow\\.test\\.ts$',
    '<rootDir>/test/replay\\.test\\.ts$',
    '<rootDir>/test/workflow/',
    '<rootDir>/test/unit/',
  ],
});
