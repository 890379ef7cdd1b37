import type { EntityManager } from 'typeorm';
import { tables } from '../database/schema';

/** What a decision needs to know of a key and its customer (read by decisionReads). */
export interface KeyForDecision {
  customer_id: string;
  blocked: boolean;
  scopes: string[];
  revoked_at: Date | null;
  expires_at: Date | null;
}

/** The SQL of decisions on api_keys and customers. */
export const apiKeys = {
  /** Whether a customer is blocked; undefined when there is no such customer. */
  async customerBlocked(manager: EntityManager, customerId: string): Promise<boolean | undefined> {
    const [customer]: { blocked: boolean }[] = await manager.query(
      `SELECT "blocked" FROM ${tables.customers} WHERE "id" = $1`,
      [customerId],
    );
    return customer?.blocked;
  },
};
