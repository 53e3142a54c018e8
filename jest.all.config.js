/**
 * `npm test`: every suite but the fault suite, as two projects. The workflow project
 * (jest.workflow.config.js) needs no services; the integration project (jest.config.js without
 * the workflow project's files) gets the run's services from its global setup, which jest runs
 * only when a test of that project is selected.
 * @type {import('jest').Config}
 */
const workflow = require('./jest.workflow.config.js');
const { testTimeout, ...integration } = require('./jest.config.js');

module.exports = {
  testTimeout,
  projects: [
    workflow,
    {
      ...integration,
      displayName: 'integration',
      testPathIgnorePatterns: [...integration.testPathIgnorePatterns, ...workflow.testPaths],
    },
  ],
};
