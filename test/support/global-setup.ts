import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { testConfig } from '../../libs/testing/src/test-config';

const root = join(__dirname, '..', '..');

/**
 * Integration and e2e tests run against the real Postgres and Kafka. This prepares the test
 * database (its own, so a running demo is untouched) with the committed migrations, and the
 * topics, using the built setup script (`npm test` builds and starts Kafka first).
 */
export default function globalSetup(): void {
  const script = join(root, 'dist', 'scripts', 'setup.js');
  if (!existsSync(script))
    throw new Error('dist/ is missing: run `npm run build` (npm test does it for you)');
  const config = testConfig();
  execFileSync(process.execPath, [script], {
    stdio: 'inherit',
    env: {
      ...process.env,
      DATABASE_URL: config.databaseUrl,
      KAFKA_BROKERS: config.kafkaBrokers.join(','),
    },
  });
}
