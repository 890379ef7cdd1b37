import { execFileSync } from 'node:child_process';
import { Client } from 'pg';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { testConfig } from '../../libs/testing/src/test-config';

const root = join(__dirname, '..', '..');

/**
 * Every run starts from an empty test database: runs never see each other's rows, whichever
 * broker (fresh or reused) they run against.
 */
async function recreateDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!/_test$/.test(name))
    throw new Error(`refusing to drop ${name}: test databases end in _test`);
  target.pathname = '/postgres';
  const client = new Client({ connectionString: target.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/**
 * Integration and e2e tests run against the real Postgres and Kafka. This prepares the test
 * database (its own, so a running demo is untouched) with the committed migrations, and the
 * topics, using the built setup script (`npm test` builds and starts Kafka first).
 */
export default async function globalSetup(): Promise<void> {
  const script = join(root, 'dist', 'scripts', 'setup.js');
  if (!existsSync(script))
    throw new Error('dist/ is missing: run `npm run build` (npm test does it for you)');
  const config = testConfig();
  await recreateDatabase(config.databaseUrl);
  execFileSync(process.execPath, [script], {
    stdio: 'inherit',
    env: {
      ...process.env,
      DATABASE_URL: config.databaseUrl,
      KAFKA_BROKERS: config.kafkaBrokers.join(','),
    },
  });
}
