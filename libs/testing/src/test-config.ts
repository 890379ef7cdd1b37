import { topicNames, type Topics } from '../../contracts/src/topics';

/** The one place tests read the environment: where the real Postgres and Kafka are. */
export interface TestConfig {
  databaseUrl: string;
  kafkaBrokers: string[];
  /**
   * KAFKA_PREFIX of this test run's topics, consumer groups and transactional ids: chosen by the
   * global setup (test/support/global-setup.ts) once per run, so a run never touches the
   * topics of a deployment (`npm start`) or of another run on the same broker.
   */
  kafkaPrefix: string;
  /** This run's topics (kafkaPrefix applied). */
  topics: Topics;
  /** UPDATE_OPENAPI=1: the OpenAPI sync test rewrites the committed document instead of failing. */
  updateOpenApi: boolean;
}

/** The environment variable through which the global setup hands the run's prefix on. */
export const TEST_KAFKA_PREFIX = 'PAYGATE_TEST_KAFKA_PREFIX';

export function testConfig(): TestConfig {
  const kafkaPrefix = process.env[TEST_KAFKA_PREFIX] ?? '';
  return {
    databaseUrl: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/paygate_test',
    kafkaBrokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    kafkaPrefix,
    topics: topicNames(kafkaPrefix),
    updateOpenApi: process.env.UPDATE_OPENAPI === '1',
  };
}
