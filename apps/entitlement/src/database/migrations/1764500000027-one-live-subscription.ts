import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A customer has at most one live subscription (any status but canceled and expired, the
 * ENDED_STATUSES of the Subscription entity): a partial unique index, so that no interleaving of
 * creates, revivals and payment events can leave two (SubscriptionsService.create replaces the
 * live one; a write that would make a second one live is a 409).
 *
 * Before it, each create added a subscription and left the older ones as they were, so a
 * customer may have several live ones, of which decisions read only the newest (created_at
 * DESC, then id). Every live subscription that is not its customer's newest is canceled first,
 * in the same transaction: nothing any decision reads changes (a customer whose newest
 * subscription has ended keeps it as their latest, with no live one left behind it to take its
 * place). Deterministic, so every deployment ends up the same; the cancellations stay when the
 * migration is reverted.
 */
export class OneLiveSubscription1764500000027 implements MigrationInterface {
  name = 'OneLiveSubscription1764500000027';

  async up(q: QueryRunner): Promise<void> {
    // No subscription is written between the cleanup and the index (a service of the previous
    // release still running), which would fail the index's build; reads go on.
    await q.query(`LOCK TABLE "entitlement"."subscriptions" IN SHARE ROW EXCLUSIVE MODE`);
    await q.query(`UPDATE "entitlement"."subscriptions" s SET "status" = 'canceled', "updated_at" = now()
      WHERE s."status" NOT IN ('canceled', 'expired')
        AND EXISTS (
          SELECT 1 FROM "entitlement"."subscriptions" n
          WHERE n."customer_id" = s."customer_id"
            AND (n."created_at" > s."created_at" OR (n."created_at" = s."created_at" AND n."id" < s."id")))`);
    await q.query(`CREATE UNIQUE INDEX "subscriptions_one_live" ON "entitlement"."subscriptions"
      ("customer_id") WHERE "status" NOT IN ('canceled', 'expired')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "entitlement"."subscriptions_one_live"`);
  }
}
