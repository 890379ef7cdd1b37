import { webhookDeliveriesTableSql } from '@paygate/alerts';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Metering's own alerts (a stalled usage consumer), delivered like entitlement's. */
export class WebhookDeliveries1764300000002 implements MigrationInterface {
  name = 'WebhookDeliveries1764300000002';

  async up(q: QueryRunner): Promise<void> {
    for (const sql of webhookDeliveriesTableSql('metering')) await q.query(sql);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "metering"."webhook_deliveries"`);
  }
}
