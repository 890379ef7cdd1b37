/**
 * Prepares a database and a broker for paygate: creates the database if missing, applies every
 * service's committed migrations to its own schema, and creates the Kafka topics (of the
 * deployment named by KAFKA_PREFIX).
 *   node dist/scripts/setup.js   (DATABASE_URL, KAFKA_BROKERS, KAFKA_PREFIX)
 */
import 'reflect-metadata';
import { topicNames } from '@paygate/contracts';
import { migrate } from '@paygate/database';
import { createKafka, ensureTopics } from '@paygate/messaging';
import { Client } from 'pg';
import { entitlementDataSource } from '../apps/entitlement/src/database/entitlement.data-source';
import { meteringDataSource } from '../apps/metering/src/database/metering.data-source';

export function topicSpecs(prefix: string) {
  const topics = topicNames(prefix);
  return [
    { name: topics.usage, partitions: 6 },
    { name: topics.usageDeadLetter, partitions: 1 },
    { name: topics.usageRecorded, partitions: 6 },
    { name: topics.entitlementChanged, partitions: 3 },
  ];
}

export async function createDatabaseIfMissing(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      } catch (err) {
        // Two setups racing: the other one created it.
        if ((err as { code?: string }).code !== '42P04') throw err;
      }
    }
  } finally {
    await client.end();
  }
}

export async function setup(
  databaseUrl: string,
  brokers: string[],
  kafkaPrefix = '',
): Promise<void> {
  await createDatabaseIfMissing(databaseUrl);
  for (const dataSource of [
    entitlementDataSource(databaseUrl, 2),
    meteringDataSource(databaseUrl, 2),
  ]) {
    const applied = await migrate(dataSource);
    for (const name of applied) console.log(`[setup] applied migration ${name}`);
  }
  const specs = topicSpecs(kafkaPrefix);
  await ensureTopics(createKafka('paygate-setup', brokers), specs);
  console.log(
    `[setup] database ${new URL(databaseUrl).pathname.slice(1)} and topics ` +
      `${specs.map((s) => s.name).join(', ')} are ready`,
  );
}

if (require.main === module) {
  setup(
    process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/paygate',
    (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    process.env.KAFKA_PREFIX ?? '',
  ).catch((err: unknown) => {
    console.error('[setup] failed:', err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
