import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Customers are now announced on entitlement.changed (reason customer-created) when created;
 * this announces the ones that already exist, through the outbox, so that metering's
 * unknown-customer policy knows them too.
 */
export class AnnounceCustomers1764200000000 implements MigrationInterface {
  name = 'AnnounceCustomers1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`INSERT INTO "entitlement"."outbox" ("topic", "key", "value")
      SELECT 'paygate.entitlement-changed.v1', c."id"::text,
        convert_to(json_build_object('id', gen_random_uuid(), 'customerId', c."id",
          'reason', 'customer-created', 'occurredAt', now())::text, 'UTF8')
      FROM "entitlement"."customers" c ORDER BY c."created_at"`);
  }

  async down(): Promise<void> {
    // Announcements cannot be taken back; nothing to undo.
  }
}
