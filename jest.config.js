/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/specs'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
  globalSetup: '<rootDir>/specs/support/global-setup.ts',
  testTimeout: 30000,
  // two cores: integration suites each start servers and threads
  maxWorkers: 2,
};
