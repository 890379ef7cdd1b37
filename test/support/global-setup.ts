import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TEST_KAFKA_PREFIX, testConfig } from '../../libs/testing/src/test-config';
import { dropTestDatabase } from './database';

const root = join(__dirname, '..', '..');

/** What a run's generated prefix looks like; the teardown deletes only topics of such a one. */
export const GENERATED_PREFIX = /^paygate-test-[0-9a-f]{8}\.$/;

/**
 * Integration and e2e tests run against the real Postgres and Kafka. This prepares the test
 * database (its own, so a running demo is untouched) with the committed migrations, and the
 * run's topics, using the built setup script (`npm test` builds and starts Kafka first).
 * Every topic, consumer group and transactional id of the run starts with a prefix of its own
 * (KAFKA_PREFIX of the services it starts), so a run never touches the topics of `npm start`
 * or of another run on the same broker; the teardown deletes the run's topics.
 */
export default async function globalSetup(): Promise<void> {
  // Both test projects run this; the first one chooses, the second finds it in the environment
  // (which the test files, in this process or in workers started after it, inherit).
  if (!process.env[TEST_KAFKA_PREFIX]) {
    process.env[TEST_KAFKA_PREFIX] = `paygate-test-${randomBytes(4).toString('hex')}.`;
  }
  const script = join(root, 'dist', 'scripts', 'setup.js');
  if (!existsSync(script))
    throw new Error('dist/ is missing: run `npm run build` (npm test does it for you)');
  const config = testConfig();
  // Every run starts from an empty test database: runs never see each other's rows,
  // whichever broker (fresh or reused) they run against.
  await dropTestDatabase(config.databaseUrl);
  execFileSync(process.execPath, [script], {
    stdio: 'inherit',
    env: {
      ...process.env,
      DATABASE_URL: config.databaseUrl,
      KAFKA_BROKERS: config.kafkaBrokers.join(','),
      KAFKA_PREFIX: config.kafkaPrefix,
    },
  });
}
