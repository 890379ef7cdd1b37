import type { EntityManager } from 'typeorm';
import { tables } from '../database/schema';

/** What a decision needs to know of a key and its customer. */
export interface KeyForDecision {
  customer_id: string;
  blocked: boolean;
  scopes: string[];
  revoked_at: Date | null;
  expires_at: Date | null;
}

/** The SQL of decisions on api_keys and customers. */
export const apiKeys = {
  /** The key with this hash and whether its customer is blocked, if the key exists. */
  async forDecision(manager: EntityManager, keyHash: string): Promise<KeyForDecision | undefined> {
    const [key]: KeyForDecision[] = await manager.query(
      `SELECT k."customer_id", k."scopes", k."revoked_at", k."expires_at", c."blocked"
       FROM ${tables.api_keys} k JOIN ${tables.customers} c ON c."id" = k."customer_id"
       WHERE k."key_hash" = $1`,
      [keyHash],
    );
    return key;
  },

  /** Whether a customer is blocked; undefined when there is no such customer. */
  async customerBlocked(manager: EntityManager, customerId: string): Promise<boolean | undefined> {
    const [customer]: { blocked: boolean }[] = await manager.query(
      `SELECT "blocked" FROM ${tables.customers} WHERE "id" = $1`,
      [customerId],
    );
    return customer?.blocked;
  },
};
