import { ConsumerProgress } from './consumer-progress';

describe('ConsumerProgress', () => {
  let now = 0;
  const clock = () => now;

  beforeEach(() => (now = 1_000_000));

  it('is stalled only after the stall time with lag and no advance, and recovers', () => {
    const p = new ConsumerProgress(60_000, clock);
    p.assign([0, 1]);
    p.noteApplied(0, '10');
    p.noteHigh(0, '10');
    p.noteApplied(1, '5');
    p.noteHigh(1, '5');
    expect(p.snapshot()).toMatchObject({ lag: 0, stalled: [], oldestUnappliedMs: 0 });

    // Messages arrive on partition 1 and a batch keeps failing.
    now += 1_000;
    p.noteHigh(1, '25');
    p.noteAttempt(1, '5', now - 500);
    now += 59_000;
    expect(p.snapshot().stalled).toEqual([]);
    now += 1_000;
    const stuck = p.snapshot();
    expect(stuck.lag).toBe(20);
    expect(stuck.stalled.map((s) => s.partition)).toEqual([1]);
    expect(stuck.oldestUnappliedMs).toBe(60_500);

    // It applies part of the backlog: no longer stalled, still lagging.
    p.noteApplied(1, '15');
    expect(p.snapshot()).toMatchObject({ lag: 10, stalled: [] });
    p.noteApplied(1, '25');
    expect(p.snapshot()).toMatchObject({ lag: 0, stalled: [], oldestUnappliedMs: 0 });
  });

  it('does not call an idle partition stalled however long it is idle', () => {
    const p = new ConsumerProgress(60_000, clock);
    p.assign([0]);
    p.noteApplied(0, '3');
    p.noteHigh(0, '3');
    now += 3_600_000;
    p.noteHigh(0, '4');
    expect(p.snapshot()).toMatchObject({ lag: 1, stalled: [] });
  });

  it('handles offsets past 2^53 exactly', () => {
    const p = new ConsumerProgress(1, clock);
    p.assign([0]);
    p.noteApplied(0, '9007199254740993');
    p.noteHigh(0, '9007199254740995');
    expect(p.snapshot().lag).toBe(2);
  });

  it('forgets partitions that went to another member', () => {
    const p = new ConsumerProgress(1, clock);
    p.assign([0, 1]);
    p.noteApplied(1, '0');
    p.noteHigh(1, '9');
    p.assign([0]);
    now += 10;
    expect(p.snapshot()).toMatchObject({ lag: 0, stalled: [], partitions: [{ partition: 0 }] });
  });
});

describe('ConsumerProgress with a batch that does not end', () => {
  let now = 1_000_000;
  const clock = () => now;

  it("is stalled once a batch runs for the stall time, even after the group's offsets moved on", () => {
    const p = new ConsumerProgress(60_000, clock);
    p.assign([0]);
    p.noteApplied(0, '10');
    p.noteHigh(0, '12');
    p.batchStarted(0);
    now += 59_000;
    // The member was evicted while its handler hung; the partition's new owner applied it all.
    p.noteApplied(0, '12');
    expect(p.snapshot().stalled).toEqual([]);
    now += 1_000;
    expect(p.snapshot().stalled).toEqual([
      { partition: 0, lag: 0, stuckSince: now - 60_000, batchRunningSince: now - 60_000 },
    ]);
    // After a rebalance that took the partition away, the hung batch still counts.
    p.assign([]);
    expect(p.snapshot().stalled.map((s) => s.partition)).toEqual([0]);
    p.batchEnded(0);
    expect(p.snapshot().stalled).toEqual([]);
  });

  it('marks a partition already stalled by its lag with the running batch too', () => {
    const p = new ConsumerProgress(60_000, clock);
    p.assign([1]);
    p.noteApplied(1, '0');
    p.noteHigh(1, '5');
    p.batchStarted(1);
    now += 60_000;
    const [stalled] = p.snapshot().stalled;
    expect(stalled).toMatchObject({ partition: 1, lag: 5, batchRunningSince: now - 60_000 });
    expect(p.snapshot().stalled).toHaveLength(1);
  });
});

describe('ConsumerProgress out of its group', () => {
  it('says so once out for the stall time, with the first reason, until it joins', () => {
    let now = 0;
    const p = new ConsumerProgress(1000, () => now);
    p.leftGroup('not joined yet');
    now = 999;
    expect(p.snapshot()).not.toHaveProperty('outOfGroup');
    // A crash while not yet joined keeps the first reason and time.
    p.leftGroup('crashed (KafkaJSConnectionError)');
    now = 1000;
    expect(p.snapshot().outOfGroup).toEqual({ sinceMs: 1000, why: 'not joined yet' });
    p.joinedGroup();
    expect(p.snapshot()).not.toHaveProperty('outOfGroup');
    p.leftGroup('stopped');
    now = 2500;
    expect(p.snapshot().outOfGroup).toEqual({ sinceMs: 1500, why: 'stopped' });
    // A start counts from itself, whatever came before.
    p.leftGroup('not joined yet', true);
    now = 3000;
    expect(p.snapshot()).not.toHaveProperty('outOfGroup');
  });
});

describe('ConsumerProgress on a partition the group never committed on', () => {
  it('starts from the first attempted batch, so a first batch that hangs is a stall', () => {
    let now = 0;
    const p = new ConsumerProgress(1000, () => now);
    p.assign([0]);
    p.noteHigh(0, '3');
    p.noteAttempt(0, '0', 0);
    now = 1000;
    expect(p.snapshot()).toMatchObject({ lag: 3, stalled: [{ partition: 0, lag: 3 }] });
  });
});
