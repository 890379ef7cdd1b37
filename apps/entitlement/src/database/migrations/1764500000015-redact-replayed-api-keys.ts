import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Responses kept for idempotent replays used to hold a created API key's secret in full.
 * They now hold the key redacted (CreatedApiKey.idempotentReplay); this redacts those stored
 * before, so no secret stays in the table. Irreversible by design: the secrets are gone.
 */
// As CreatedApiKey.idempotentReplay says it (a migration keeps its own copy).
const NOTE = {
  type: 'https://paygate.dev/problems/secret-not-replayed',
  title: 'Secret not replayed',
  detail:
    'An API key is shown once, in the response that created it, and is never stored. This is a replay of that response (Idempotent-Replayed: true), so the key is left out: if it was lost, revoke this key and create another.',
};

export class RedactReplayedApiKeys1764500000015 implements MigrationInterface {
  name = 'RedactReplayedApiKeys1764500000015';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `UPDATE "entitlement"."idempotency_keys"
       SET "body" = "body" || jsonb_build_object('key', null, 'keyRedacted', true, 'redaction', $1::jsonb)
       WHERE jsonb_typeof("body") = 'object' AND jsonb_typeof("body"->'key') = 'string'
         AND "body"->>'key' LIKE 'pg\\_live\\_%'`,
      [JSON.stringify(NOTE)],
    );
  }

  async down(): Promise<void> {
    // Nothing to restore: the secrets were never meant to be kept.
  }
}
