import { deleteBatch } from './batch-delete';
import {
  UNFINISHED_AFTER_SECONDS,
  type IdempotencyClaim,
  type IdempotencyStore,
} from '@paygate/http';
import type { DataSource } from 'typeorm';

/** DDL of the table a service keeps idempotent responses in (used by its migration). */
export function idempotencyTableSql(schema: string): string {
  return `CREATE TABLE "${schema}"."idempotency_keys" (
    "key" text PRIMARY KEY,
    "fingerprint" text NOT NULL,
    "status" int,
    "body" jsonb,
    "created_at" timestamptz NOT NULL DEFAULT now()
  )`;
}

/** Postgres storage for IdempotencyInterceptor: the primary key makes the claim atomic. */
export class PgIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly dataSource: DataSource,
    private readonly schema: string,
  ) {}

  async claim(key: string, fingerprint: string): Promise<IdempotencyClaim> {
    const inserted: unknown[] = await this.dataSource.query(
      `INSERT INTO "${this.schema}"."idempotency_keys" ("key", "fingerprint") VALUES ($1, $2)
       ON CONFLICT DO NOTHING RETURNING "key"`,
      [key, fingerprint],
    );
    if (inserted.length === 1) return { state: 'new' };
    const [row]: { fingerprint: string; status: number | null; body: unknown; old: boolean }[] =
      await this.dataSource.query(
        `SELECT "fingerprint", "status", "body",
                "created_at" < now() - make_interval(secs => $2) AS "old"
         FROM "${this.schema}"."idempotency_keys" WHERE "key" = $1`,
        [key, UNFINISHED_AFTER_SECONDS],
      );
    if (!row) return this.claim(key, fingerprint); // abandoned in between: try again
    if (row.fingerprint !== fingerprint) return { state: 'mismatch' };
    if (row.status === null) return { state: row.old ? 'unfinished' : 'in-progress' };
    return { state: 'done', status: row.status, body: row.body };
  }

  async complete(key: string, status: number, body: unknown): Promise<void> {
    await this.dataSource.query(
      `UPDATE "${this.schema}"."idempotency_keys" SET "status" = $2, "body" = $3::jsonb WHERE "key" = $1`,
      [key, status, JSON.stringify(body ?? null)],
    );
  }

  /**
   * Forgets up to `limit` keys first claimed more than `hours` ago, oldest first, whatever
   * their state (a request with such a key runs again); how many went. A claim() that finds
   * its key gone between its insert and its read claims it anew.
   */
  async forgetOlderThan(hours: number, limit: number): Promise<number> {
    return deleteBatch(this.dataSource, {
      table: `"${this.schema}"."idempotency_keys"`,
      where: `"created_at" < now() - make_interval(hours => $1)`,
      orderBy: '"created_at"',
      params: [hours],
      limit,
    });
  }

  async abandon(key: string): Promise<void> {
    await this.dataSource.query(
      `DELETE FROM "${this.schema}"."idempotency_keys" WHERE "key" = $1 AND "status" IS NULL`,
      [key],
    );
  }
}
