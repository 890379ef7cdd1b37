import { ownOutboxForFile } from '@test/own-outbox';
import { outboxReadiness } from './nest-providers';

describe('outboxReadiness (real Postgres)', () => {
  // An outbox of this test's own: the services' outboxes hold other tests' rows.
  const own = ownOutboxForFile();
  const { schema } = own;

  const insert = (ageSeconds: number, parked = false) =>
    own.dataSource.query(
      `INSERT INTO "${schema}"."outbox" ("topic", "key", "value", "created_at", "parked_at")
       VALUES ('t', 'k', 'v', now() - make_interval(secs => $1), CASE WHEN $2 THEN now() END)`,
      [ageSeconds, parked],
    );
  const outcome = () =>
    outboxReadiness(own.dataSource, schema, 60)
      .check()
      .then(
        () => 'ok',
        (err: Error) => err.message,
      );

  it('is ok with the outbox empty, or holding only messages younger than the limit', async () => {
    expect(await outcome()).toBe('ok');
    await insert(5);
    expect(await outcome()).toBe('ok');
  });

  it('fails while a message older than the limit is not published, and not for a parked one', async () => {
    await own.dataSource.query(`DELETE FROM "${schema}"."outbox"`);
    await insert(600, true);
    await insert(5);
    expect(await outcome()).toBe('ok');
    await own.dataSource.query(`DELETE FROM "${schema}"."outbox"`);
    await insert(90);
    await insert(5);
    expect(await outcome()).toMatch(/the oldest outbox message is 9\d s old and not published/);
    // Published (the relay deletes what went out): ready again.
    await own.dataSource.query(
      `DELETE FROM "${schema}"."outbox" WHERE "created_at" < now() - interval '60 s'`,
    );
    expect(await outcome()).toBe('ok');
  });
});
