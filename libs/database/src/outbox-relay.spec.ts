import type { DataSource } from 'typeorm';
import { OutboxRelay, type OutboxRelayOptions } from './outbox-relay';

const OPTIONS: OutboxRelayOptions = { batchSize: 10, pollMs: 50, quietPollMs: 1000, gapMs: 50 };

/** A relay whose drains are recorded (time, rows "sent") instead of reaching Postgres. */
function relayDraining(rows: () => number, options = OPTIONS) {
  const relay = new OutboxRelay({} as DataSource, 'unit', { sendBatch: async () => {} }, options);
  const drains: number[] = [];
  const start = Date.now();
  jest.spyOn(relay, 'drainOnce').mockImplementation(async () => {
    drains.push(Date.now() - start);
    return rows();
  });
  return { relay, drains };
}

describe('OutboxRelay scheduling', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('polls every pollMs while nothing listens', async () => {
    const { relay, drains } = relayDraining(() => 0);
    relay.start();
    await jest.advanceTimersByTimeAsync(260);
    expect(drains).toEqual([0, 50, 100, 150, 200, 250]);
    await relay.stop();
  });

  it('while listening, drains on a wake-up and otherwise only every quietPollMs', async () => {
    const { relay, drains } = relayDraining(() => 0);
    relay.start();
    await jest.advanceTimersByTimeAsync(10);
    relay.listening(true); // catch-up drain, gapMs after the first
    await jest.advanceTimersByTimeAsync(490);
    expect(drains).toEqual([0, 50]);
    relay.wake();
    await jest.advanceTimersByTimeAsync(0);
    expect(drains).toEqual([0, 50, 500]);
    await jest.advanceTimersByTimeAsync(2_000);
    expect(drains).toEqual([0, 50, 500, 1500, 2500]);
    await relay.stop();
  });

  it('folds wake-ups into one drain at most every gapMs', async () => {
    const { relay, drains } = relayDraining(() => 0);
    relay.listening(true);
    relay.start();
    await jest.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 20; i++) {
      relay.wake();
      await jest.advanceTimersByTimeAsync(5);
    }
    // 100 ms of wake-ups every 5 ms: drains at 0, 50 and 100, not twenty.
    expect(drains).toEqual([0, 50, 100]);
    await relay.stop();
  });

  it('drains again after gapMs when woken during a drain, since its rows may have missed it', async () => {
    let release!: () => void;
    const relay = new OutboxRelay({} as DataSource, 'unit', { sendBatch: async () => {} }, OPTIONS);
    const drains: number[] = [];
    const start = Date.now();
    jest.spyOn(relay, 'drainOnce').mockImplementation(async () => {
      drains.push(Date.now() - start);
      if (drains.length === 1) await new Promise<void>((r) => (release = r));
      return 0;
    });
    relay.listening(true);
    relay.start();
    await jest.advanceTimersByTimeAsync(0);
    relay.wake(); // during the first drain
    await jest.advanceTimersByTimeAsync(30);
    release();
    await jest.advanceTimersByTimeAsync(100);
    expect(drains).toEqual([0, 80]);
    await relay.stop();
  });

  it('goes straight on after a full batch, and back to polling when the listener is lost', async () => {
    let backlog = 25;
    const { relay, drains } = relayDraining(() => {
      const sent = Math.min(backlog, OPTIONS.batchSize);
      backlog -= sent;
      return sent;
    });
    relay.listening(true);
    relay.start();
    await jest.advanceTimersByTimeAsync(5);
    // A zero delay is a timer of 1 ms.
    expect(drains).toEqual([0, 1, 2]);
    relay.listening(false);
    await jest.advanceTimersByTimeAsync(120);
    expect(drains).toEqual([0, 1, 2, 55, 105]);
    await relay.stop();
  });

  it('after a failed drain, waits out its back-off whatever wakes it', async () => {
    let failing = true;
    const { relay, drains } = relayDraining(() => {
      if (failing) throw new Error('Kafka is down');
      return 0;
    });
    relay.listening(true);
    relay.start();
    await jest.advanceTimersByTimeAsync(0);
    failing = false;
    for (let i = 0; i < 12; i++) {
      relay.wake();
      await jest.advanceTimersByTimeAsync(50);
    }
    // Woken every 50 ms, but the retry comes once the 500 ms back-off is over; then as woken.
    expect(drains).toEqual([0, 500, 550, 600]);
    await relay.stop();
  });

  it('stops: no drain after stop, whatever wakes it', async () => {
    const { relay, drains } = relayDraining(() => 0);
    relay.start();
    await jest.advanceTimersByTimeAsync(0);
    await relay.stop();
    relay.wake();
    relay.listening(false);
    await jest.advanceTimersByTimeAsync(5_000);
    expect(drains).toEqual([0]);
  });
});
