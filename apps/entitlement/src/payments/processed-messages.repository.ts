import type { EntityManager } from 'typeorm';
import { tables } from '../database/schema';

/** The SQL of processed messages: ids of messages (events) whose effect was applied, once each. */
export const processedMessages = {
  /**
   * Claims the message id in the caller's transaction, together with its effect: true when
   * this transaction recorded it, false when it was processed already.
   */
  async claim(manager: EntityManager, id: string): Promise<boolean> {
    const claimed: unknown[] = await manager.query(
      `INSERT INTO ${tables.processed_messages} ("id") VALUES ($1) ON CONFLICT DO NOTHING RETURNING "id"`,
      [id],
    );
    return claimed.length > 0;
  },
};
