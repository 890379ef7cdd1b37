import { BatchConsumer, type BatchHandler, type InboundMessage } from './batch-consumer';
import type { ProgressSnapshot } from './consumer-progress';
import { ConsumerHost, type ConsumerSetup } from './consumer-host';

const SETUP: ConsumerSetup = {
  clientId: 'paygate-test',
  brokers: ['127.0.0.1:1'],
  options: { groupId: 'test-group', topic: 'test.topic', stallMs: 5_000 },
};

const SNAPSHOT: ProgressSnapshot = {
  lag: 3,
  oldestUnappliedMs: 1_500,
  stalled: [],
  partitions: [],
};

/** Stands in for the BatchConsumer: records what the host asks of it, without Kafka. */
class FakeConsumer {
  handler?: BatchHandler;
  readonly calls: string[] = [];
  start(handler: BatchHandler): Promise<void> {
    this.calls.push('start');
    this.handler = handler;
    return Promise.resolve();
  }
  progress(): ProgressSnapshot {
    return SNAPSHOT;
  }
  stop(): Promise<void> {
    this.calls.push('stop');
    return Promise.resolve();
  }
}

class TestHost extends ConsumerHost {
  readonly fake = new FakeConsumer();
  readonly created: ConsumerSetup[] = [];
  readonly handled: InboundMessage[][] = [];

  protected consumerSetup(): ConsumerSetup {
    return SETUP;
  }

  protected handle(messages: InboundMessage[]): ReturnType<BatchHandler> {
    this.handled.push(messages);
    return Promise.resolve([{ topic: 'out', key: 'k', value: 'v' }]);
  }

  protected override createConsumer(setup: ConsumerSetup): BatchConsumer {
    this.created.push(setup);
    return this.fake as unknown as BatchConsumer;
  }

  /** The default consumer, as a subclass without a test override gets it. */
  defaultConsumer(setup: ConsumerSetup): BatchConsumer {
    return super.createConsumer(setup);
  }
}

const message = (offset: string): InboundMessage => ({
  topic: 'test.topic',
  partition: 0,
  offset,
  key: null,
  value: Buffer.from('{}'),
  headers: {},
  timestamp: '0',
});

describe('ConsumerHost', () => {
  it('reports no progress and stops nothing before it started', async () => {
    const host = new TestHost();
    expect(host.progress()).toBeUndefined();
    await host.onApplicationShutdown();
    expect(host.fake.calls).toEqual([]);
  });

  it('creates the consumer from its setup at bootstrap and starts it with its handler', async () => {
    const host = new TestHost();
    expect(host.created).toEqual([]);
    await host.onApplicationBootstrap();
    expect(host.created).toEqual([SETUP]);
    expect(host.fake.calls).toEqual(['start']);

    const batch = [message('7'), message('8')];
    await expect(host.fake.handler!(batch)).resolves.toEqual([
      { topic: 'out', key: 'k', value: 'v' },
    ]);
    expect(host.handled).toEqual([batch]);
  });

  it("reports the consumer's progress once started, and stops it at shutdown", async () => {
    const host = new TestHost();
    await host.onApplicationBootstrap();
    expect(host.progress()).toBe(SNAPSHOT);
    await host.onApplicationShutdown();
    expect(host.fake.calls).toEqual(['start', 'stop']);
  });

  it('by default builds a BatchConsumer (without connecting until it starts)', () => {
    expect(new TestHost().defaultConsumer(SETUP)).toBeInstanceOf(BatchConsumer);
  });
});
