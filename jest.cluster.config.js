/**
 * `npm run test:cluster`: the lifecycle suite against a Temporal cluster (frontend, matching, worker
 * and two history hosts as separate processes, on PostgreSQL) instead of the dev server. It covers
 * every subject, both ways of paying, every status change, the getOrder query and the search
 * attributes, and ends with `npm run audit` clean (test/setup/global-teardown.ts).
 * @type {import('jest').Config}
 */
process.env.TEST_TEMPORAL = 'cluster';
const base = require('./jest.config.js');

module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/orders-lifecycle.test.ts', '<rootDir>/test/orders-edges.test.ts'],
  // The first run builds the server, its schema tool and the Web UI with go install.
  testTimeout: 60_000,
};
