import type { DataSource, EntityManager } from 'typeorm';
import { tables } from '../database/schema';

/** The SQL of the customers the entitlement service announced (known_customers). */
export const knownCustomers = {
  /** Records these customers as known; those known already stay as they are. */
  async add(manager: EntityManager, customerIds: string[]): Promise<void> {
    await manager.query(
      `INSERT INTO ${tables.known_customers} ("customer_id")
       SELECT * FROM unnest($1::text[]) ON CONFLICT DO NOTHING`,
      [customerIds],
    );
  },

  /** Those of these customers that are known. */
  async among(runner: EntityManager | DataSource, customerIds: string[]): Promise<string[]> {
    const rows: { customer_id: string }[] = await runner.query(
      `SELECT "customer_id" FROM ${tables.known_customers} WHERE "customer_id" = ANY($1)`,
      [customerIds],
    );
    return rows.map((r) => r.customer_id);
  },
};
