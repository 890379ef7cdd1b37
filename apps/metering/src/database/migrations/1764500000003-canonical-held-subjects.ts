import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Events held for a customer not yet announced (UNKNOWN_CUSTOMER_POLICY=hold) are released by
 * their `subject` when the entitlement service announces the customer, by its id in lower case
 * with hyphens. Since a usage event's subject is read in that form (canonicalCustomerId), one
 * held before under another spelling of the same UUID (upper case, braces, no hyphens, a
 * `urn:uuid:` URN) would wait for good: rewritten here to the form it is released by. Rollups
 * counted under another spelling stay as they are (docs/known-limits.md).
 */
export class CanonicalHeldSubjects1764500000003 implements MigrationInterface {
  name = 'CanonicalHeldSubjects1764500000003';

  async up(q: QueryRunner): Promise<void> {
    const hex = (n: number) => `[0-9a-f]{${n}}`;
    const hyphenated = `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`;
    const spellings = `^(urn:uuid:)?(${hyphenated}|\\{${hyphenated}\\}|${hex(32)}|\\{${hex(32)}\\})$`;
    await q.query(
      `UPDATE "metering"."held_events"
          SET "subject" = regexp_replace("subject", '^urn:uuid:', '', 'i')::uuid::text
        WHERE "subject" ~* $1
          AND "subject" <> regexp_replace("subject", '^urn:uuid:', '', 'i')::uuid::text`,
      [spellings],
    );
  }

  async down(): Promise<void> {
    // The spellings they had are not kept: nothing to undo.
  }
}
