import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When the gateway that held a lease closed it: from then on every unit of it that was not
 * given back was served, so the expiry sweep never returns those units (they wait for their
 * usage events, however late metering is); only leases nobody closed expire.
 */
export class LeaseClosedByGateway1764400000000 implements MigrationInterface {
  name = 'LeaseClosedByGateway1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "entitlement"."leases" ADD COLUMN "gateway_closed_at" timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "entitlement"."leases" DROP COLUMN "gateway_closed_at"`);
  }
}
