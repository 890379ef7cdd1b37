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

/**
 * Drops a test database (its name must end in _test), ending its sessions: every run starts
 * from an empty one, and suites drop the extra ones they make.
 */
export async function dropTestDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!/_test$/.test(name))
    throw new Error(`refusing to drop ${name}: test databases end in _test`);
  target.pathname = '/postgres';
  const client = new Client({ connectionString: target.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
