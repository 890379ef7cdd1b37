import type { ProgressSnapshot } from './consumer-progress';
import { consumerReadiness } from './consumer-readiness';

describe('consumerReadiness', () => {
  const snapshot = (extra: Partial<ProgressSnapshot>): ProgressSnapshot => ({
    lag: 0,
    oldestUnappliedMs: 0,
    stalled: [],
    partitions: [],
    ...extra,
  });
  const outcome = (s: ProgressSnapshot | undefined) =>
    consumerReadiness('usage-consumer', () => s)
      .check()
      .then(
        () => 'ok',
        (err: Error) => err.message,
      );

  it('is ok while the consumer applies what arrives (or has not started)', async () => {
    expect(await outcome(undefined)).toBe('ok');
    expect(await outcome(snapshot({ lag: 5 }))).toBe('ok');
  });

  it('fails while a partition is stalled, naming it', async () => {
    const stuck = { partition: 2, lag: 7, stuckSince: Date.now() - 61_000 };
    expect(await outcome(snapshot({ stalled: [stuck] as ProgressSnapshot['stalled'] }))).toMatch(
      /usage-consumer is stalled \(partition 2: 7 unapplied, no progress for 61 s\)/,
    );
  });

  it('fails while the consumer is out of its group, with no lag to show for it', async () => {
    const out = { sinceMs: 90_000, why: 'crashed (KafkaJSConnectionError)' };
    expect(await outcome(snapshot({ outOfGroup: out }))).toBe(
      'usage-consumer has not been in its consumer group for 90 s (crashed (KafkaJSConnectionError))',
    );
  });
});
