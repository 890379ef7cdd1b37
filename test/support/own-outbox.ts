import { outboxTableSql } from '@paygate/database';
import { testConfig } from '@paygate/testing';
import { DataSource } from 'typeorm';

/**
 * A DataSource on the test database with a schema of its own holding an outbox as the
 * services' migrations make it (parking columns included): the services' outboxes hold other
 * tests' rows. Drop the schema when done.
 */
export async function openOwnOutbox(schema: string): Promise<DataSource> {
  const dataSource = await new DataSource({
    type: 'postgres',
    url: testConfig().databaseUrl,
  }).initialize();
  await dataSource.query(`CREATE SCHEMA "${schema}"`);
  await dataSource.query(outboxTableSql(schema));
  await dataSource.query(
    `ALTER TABLE "${schema}"."outbox" ADD COLUMN "parked_at" timestamptz, ADD COLUMN "park_reason" text`,
  );
  return dataSource;
}
