import { testConfig } from '@paygate/testing';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { meteringDataSource } from './metering.data-source';
import { CanonicalHeldSubjects1764500000003 } from './migrations/1764500000003-canonical-held-subjects';

/**
 * The migration that rewrites held events' subjects to the form customers are announced in,
 * run again (it is idempotent) on rows of this test's own topic in the real table.
 */
describe('CanonicalHeldSubjects1764500000003 (real Postgres)', () => {
  let dataSource: DataSource;
  const topic = `itest-held-subjects-${randomUUID()}`;

  beforeAll(async () => {
    dataSource = await meteringDataSource(testConfig().databaseUrl, 2).initialize();
  });

  afterAll(async () => {
    await dataSource.query(`DELETE FROM "metering"."held_events" WHERE "topic" = $1`, [topic]);
    await dataSource.destroy();
  });

  it('reads every spelling canonicalCustomerId takes as the lower-case hyphenated id, and nothing else', async () => {
    const id = randomUUID();
    const rows: [string | null, string | null][] = [
      [id, id],
      [id.toUpperCase(), id],
      [`{${id}}`, id],
      [id.replace(/-/g, ''), id],
      [`urn:uuid:${id}`, id],
      [`URN:UUID:{${id.toUpperCase()}}`, id],
      // Not a customer id (refused when released, as any such event now is): left as held.
      ['c1', 'c1'],
      [`${id.slice(0, 13)}${id.slice(14)}`, `${id.slice(0, 13)}${id.slice(14)}`],
      [`{${id}`, `{${id}`],
      [null, null],
    ];
    for (const [offset, [subject]] of rows.entries())
      await dataSource.query(
        `INSERT INTO "metering"."held_events"
           ("topic", "partition", "offset", "kafka_timestamp", "event_type", "value", "headers",
            "reason", "subject")
         VALUES ($1, 0, $2, 0, 't', '\\x00', '{}', 'unknown-customer', $3)`,
        [topic, offset, subject],
      );

    await new CanonicalHeldSubjects1764500000003().up(dataSource.createQueryRunner());

    const after: { offset: string; subject: string | null }[] = await dataSource.query(
      `SELECT "offset", "subject" FROM "metering"."held_events" WHERE "topic" = $1 ORDER BY "offset"`,
      [topic],
    );
    expect(after.map((r) => r.subject)).toEqual(rows.map(([, expected]) => expected));
  });
});
