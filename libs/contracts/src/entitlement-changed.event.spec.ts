import { changeTransaction, decidedWith, snapshotShows } from './entitlement-changed.event';

describe('snapshotShows (pg_visible_in_snapshot for a committed transaction)', () => {
  it('shows what finished before the snapshot: below xmin, or below xmax and not running', () => {
    expect(snapshotShows('706:710:708', '705')).toBe(true);
    expect(snapshotShows('706:710:708', '706')).toBe(true);
    expect(snapshotShows('706:710:708', '709')).toBe(true);
    expect(snapshotShows('706:706:', '705')).toBe(true);
  });

  it('does not show what ran at the snapshot or began after it', () => {
    expect(snapshotShows('706:710:708', '708')).toBe(false);
    expect(snapshotShows('706:710:708', '710')).toBe(false);
    expect(snapshotShows('706:710:707,708', '707')).toBe(false);
    expect(snapshotShows('706:706:', '706')).toBe(false);
  });

  it('compares past 2^53 exactly (xid8 counts epochs)', () => {
    const xmin = 2n ** 60n;
    expect(snapshotShows(`${xmin}:${xmin + 2n}:`, String(xmin - 1n))).toBe(true);
    expect(snapshotShows(`${xmin}:${xmin + 2n}:`, String(xmin + 2n))).toBe(false);
    expect(snapshotShows(`${xmin}:${xmin + 3n}:${xmin + 1n}`, String(xmin + 1n))).toBe(false);
  });

  it('shows nothing for what it cannot read', () => {
    for (const [snapshot, id] of [
      ['', '1'],
      ['706:710:708', ''],
      ['706:710:708', '-1'],
      ['706:710:708', '7e2'],
      ['706:710:708', '0x10'],
      ['706:710:708', '18446744073709551616'],
      ['710:706:', '1'],
      ['706:710', '1'],
      ['706:710:x', '709'],
      ['706:710:708,', '709'],
      ['a:710:', '1'],
    ])
      expect(snapshotShows(snapshot, id)).toBe(false);
  });
});

describe('decidedWith and changeTransaction', () => {
  const answer = { readSnapshot: '706:710:708', readDatabaseRun: '1796541932.918495' };

  it('compares a change with an answer read in the same database run only', () => {
    expect(decidedWith(answer, { id: '705', databaseRun: '1796541932.918495' })).toBe(true);
    expect(decidedWith(answer, { id: '708', databaseRun: '1796541932.918495' })).toBe(false);
    // Another run (a failover, a restore, a restart): its ids may be below this run's xmin.
    expect(decidedWith(answer, { id: '705', databaseRun: '1796541999.5' })).toBe(false);
    expect(decidedWith({ readSnapshot: '706:710:' }, { id: '705', databaseRun: '' })).toBe(false);
  });

  it('reads the change from an event that names both its transaction and its run', () => {
    const event = {
      id: 'e',
      customerId: 'c',
      reason: 'api-key-revoked' as const,
      occurredAt: '2026-12-06T00:00:00Z',
    };
    expect(changeTransaction({ ...event, transactionId: '5', databaseRun: '1.5' })).toEqual({
      id: '5',
      databaseRun: '1.5',
    });
    expect(changeTransaction({ ...event, transactionId: '5' })).toBeUndefined();
    expect(changeTransaction({ ...event, databaseRun: '1.5' })).toBeUndefined();
    expect(changeTransaction({ ...event, transactionId: '5', databaseRun: '' })).toBeUndefined();
  });
});
