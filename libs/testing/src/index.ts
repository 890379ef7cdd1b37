export { testConfig } from './test-config';
export type { TestConfig } from './test-config';
