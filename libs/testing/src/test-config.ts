/** The one place tests read the environment: where the real Postgres and Kafka are. */
export interface TestConfig {
  databaseUrl: string;
  kafkaBrokers: string[];
  /** UPDATE_OPENAPI=1: the OpenAPI sync test rewrites the committed document instead of failing. */
  updateOpenApi: boolean;
}

export function testConfig(): TestConfig {
  return {
    databaseUrl: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/paygate_test',
    kafkaBrokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    updateOpenApi: process.env.UPDATE_OPENAPI === '1',
  };
}
