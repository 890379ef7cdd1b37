import type { Kafka } from 'kafkajs';
import type { InboundMessage } from './batch-consumer';
import { PartitionTransactions } from './partition-transactions';

const batch = (from: number, to: number): InboundMessage[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({
    topic: 'usage',
    partition: 0,
    offset: String(from + i),
    key: null,
    value: Buffer.from('{}'),
    headers: {},
    timestamp: '0',
  }));

const offsets = (messages: InboundMessage[]) => messages.map((m) => Number(m.offset));

/**
 * The committed floor: kafkajs may fetch a partition from below what this member committed
 * (the group's offset lags a transaction whose markers are not written yet), for more than one
 * batch; none of those messages may be applied, and their dead letters sent, again.
 */
describe('PartitionTransactions floors', () => {
  // Nothing here reaches the broker: no partition is doubtful, so no offset is fetched.
  const transactions = () => {
    const t = new PartitionTransactions({} as Kafka, 'group', 'prefix', 1_000_000);
    t.assign({ usage: [0] });
    return t;
  };

  it('passes every message before anything was committed', async () => {
    expect(offsets(await transactions().notYetCommitted(batch(0, 4)))).toEqual([0, 1, 2, 3, 4]);
  });

  it('skips every batch below what was committed, not only the first', async () => {
    const t = transactions();
    t.noteCommitted('usage', 0, '100');
    expect(await t.notYetCommitted(batch(40, 59))).toEqual([]);
    expect(await t.notYetCommitted(batch(60, 79))).toEqual([]);
    expect(offsets(await t.notYetCommitted(batch(95, 102)))).toEqual([100, 101, 102]);
  });

  it('never lowers the floor, and forgets it with the partition', async () => {
    const t = transactions();
    t.noteCommitted('usage', 0, '100');
    t.noteCommitted('usage', 0, '50');
    expect(await t.notYetCommitted(batch(60, 99))).toEqual([]);
    t.assign({ usage: [1] });
    t.assign({ usage: [0] });
    expect(offsets(await t.notYetCommitted(batch(98, 99)))).toEqual([98, 99]);
  });

  it('drops the floor when the log ends below it (the log started over): nothing skipped', async () => {
    const t = transactions();
    t.noteCommitted('usage', 0, '100');
    expect(await t.notYetCommitted(batch(0, 4), '5')).toHaveLength(5);
    expect(await t.notYetCommitted(batch(5, 9), '10')).toHaveLength(5);
    // While the log continues past it, the floor stands.
    t.noteCommitted('usage', 0, '100');
    expect(await t.notYetCommitted(batch(90, 94), '500')).toEqual([]);
  });
});
