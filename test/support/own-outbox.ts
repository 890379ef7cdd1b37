import { outboxTableSql } from '@paygate/database';
import { testConfig } from '@paygate/testing';
import { randomUUID } from 'node:crypto';
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

/**
 * An outbox of the test file's own (see openOwnOutbox), opened before its tests and dropped
 * after them: `dataSource` is set once the file's tests run.
 */
export function ownOutboxForFile(): { schema: string; dataSource: DataSource } {
  const own = { schema: `itest_outbox_${randomUUID().slice(0, 8)}` } as {
    schema: string;
    dataSource: DataSource;
  };
  beforeAll(async () => {
    own.dataSource = await openOwnOutbox(own.schema);
  });
  afterAll(async () => {
    await own.dataSource?.query(`DROP SCHEMA "${own.schema}" CASCADE`);
    await own.dataSource?.destroy();
  });
  return own;
}
