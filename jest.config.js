// Three projects: unit specs beside the code, integration specs against the real Postgres and
// Kafka (also beside the code, *.int-spec.ts), and e2e specs in test/ that start real processes.
const { pathsToModuleNameMapper } = require('ts-jest');
const { compilerOptions } = require('./tsconfig.json');

const shared = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  moduleNameMapper: pathsToModuleNameMapper(compilerOptions.paths, { prefix: '<rootDir>/' }),
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    // mppx ships ES modules only, which Jest can require() only on Node 24.9+: compile them.
    '/node_modules/mppx/.+\\.js$': '<rootDir>/libs/payments/jest-esm-transform.js',
  },
  transformIgnorePatterns: ['/node_modules/(?!mppx/)'],
};

module.exports = {
  // Integration and e2e tests wait on real brokers and processes; unit tests finish long before.
  testTimeout: 180_000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,scripts}/**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/{apps,libs}/**/*.int-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
