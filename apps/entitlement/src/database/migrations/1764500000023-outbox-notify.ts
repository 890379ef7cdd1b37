import { dropOutboxNotifySql, outboxNotifySql } from '@paygate/database';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every insert into the outbox notifies its channel, so the relay drains when rows are
 * committed instead of polling Postgres twenty times a second (see OutboxRelay).
 */
export class OutboxNotify1764500000023 implements MigrationInterface {
  name = 'OutboxNotify1764500000023';

  async up(q: QueryRunner): Promise<void> {
    for (const sql of outboxNotifySql('entitlement')) await q.query(sql);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const sql of dropOutboxNotifySql('entitlement')) await q.query(sql);
  }
}
