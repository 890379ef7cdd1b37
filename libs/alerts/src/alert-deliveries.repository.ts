import { schemaTables } from '@paygate/database';
import type { DataSource, EntityManager } from 'typeorm';

/** A queued alert as a delivery round reads it. */
export interface DueDelivery {
  id: string;
  payload: unknown;
  attempts: number;
}

/**
 * The SQL of queued alerts (the `webhook_deliveries` table of the schema given: each service
 * keeps its own, with its migration).
 */
export function alertDeliveries(schema: string) {
  const table = schemaTables(schema, ['webhook_deliveries']).webhook_deliveries;
  return {
    async queue(manager: EntityManager | DataSource, alert: { type: string }): Promise<void> {
      await manager.query(`INSERT INTO ${table} ("type", "payload") VALUES ($1, $2::jsonb)`, [
        alert.type,
        JSON.stringify(alert),
      ]);
    },

    /** Up to 50 deliveries due now, oldest first, locked (others skip them) until the end. */
    lockDue(manager: EntityManager, maxAttempts: number): Promise<DueDelivery[]> {
      return manager.query(
        `SELECT "id", "payload", "attempts" FROM ${table}
         WHERE "delivered_at" IS NULL AND "next_attempt_at" <= now() AND "attempts" < $1
         ORDER BY "created_at" LIMIT 50 FOR UPDATE SKIP LOCKED`,
        [maxAttempts],
      );
    },

    async markDelivered(manager: EntityManager, id: string): Promise<void> {
      await manager.query(
        `UPDATE ${table} SET "delivered_at" = now(), "attempts" = "attempts" + 1 WHERE "id" = $1`,
        [id],
      );
    },

    /** Counts a failed attempt and puts the next one `backoffSeconds` from now. */
    async markFailed(
      manager: EntityManager,
      id: string,
      error: string,
      backoffSeconds: number,
    ): Promise<void> {
      await manager.query(
        `UPDATE ${table}
         SET "attempts" = "attempts" + 1, "last_error" = $2, "next_attempt_at" = now() + make_interval(secs => $3)
         WHERE "id" = $1`,
        [id, error, backoffSeconds],
      );
    },
  };
}
