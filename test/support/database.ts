import { Client } from 'pg';
import { testConfig } from '../../libs/testing/src/test-config';

/**
 * One query on a fresh connection to the test database: e2e suites stop and restart Postgres
 * under their own feet, and read what the services wrote without sharing their pools.
 */
export async function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: testConfig().databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}
