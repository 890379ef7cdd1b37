import { metricsRegistry } from '@paygate/observability';
import { waitFor } from '@paygate/testing';
import type { OutboundMessage } from '@paygate/messaging';
import type { UsageEvent } from '@paygate/contracts';
import { UsagePublisher, UsageProducer } from './usage.publisher';

const event = (i: number): UsageEvent => ({
  specversion: '1.0',
  id: `e${i}`,
  source: 'test',
  type: 't',
  subject: 'c1',
  time: '2026-11-25T10:00:00Z',
  data: { units: 1 },
});

describe('UsagePublisher buffering', () => {
  it('keeps every event while the broker refuses them, reports saturation, and drains after', async () => {
    let up = false;
    const sent: OutboundMessage[] = [];
    const producer: UsageProducer = {
      connect: async () => undefined,
      disconnect: async () => undefined,
      sendBatch: async (messages) => {
        if (!up) throw new Error('broker down');
        sent.push(...messages);
      },
    };
    const publisher = new UsagePublisher({ KAFKA_BROKERS: [], USAGE_BUFFER_MAX: 3 }, producer);
    for (let i = 0; i < 3; i++) publisher.publish(event(i));
    await new Promise((r) => setTimeout(r, 50)); // a failed send or two
    expect(publisher.buffered).toBe(3);
    expect(publisher.saturated).toBe(true);

    up = true;
    await waitFor(() => publisher.buffered === 0, { timeoutMs: 5000, intervalMs: 10 });
    expect(publisher.saturated).toBe(false);
    expect(sent.map((m) => JSON.parse(String(m.value)).id)).toEqual(['e0', 'e1', 'e2']);
    await publisher.onApplicationShutdown();
  });

  it('ends shutdown within its bound when the send under way never returns, counting what is lost', async () => {
    const lost = async () =>
      (
        await metricsRegistry.getSingleMetric('paygate_gateway_usage_events_total')!.get()
      ).values.find((v) => v.labels.outcome === 'lost')?.value ?? 0;
    const before = await lost();
    let sends = 0;
    const producer: UsageProducer = {
      connect: async () => undefined,
      // A broker that stalls: the send neither succeeds nor fails (kafkajs retrying).
      disconnect: () => new Promise(() => undefined),
      sendBatch: () => {
        sends += 1;
        return new Promise(() => undefined);
      },
    };
    const publisher = new UsagePublisher({ KAFKA_BROKERS: [], USAGE_BUFFER_MAX: 100 }, producer);
    for (let i = 0; i < 3; i++) publisher.publish(event(i));
    await waitFor(() => sends === 1, { timeoutMs: 1000, intervalMs: 5 });
    // Two more while the first batch is stuck, then shutdown.
    publisher.publish(event(3));
    publisher.publish(event(4));
    // Returns at all: the flush bound and the disconnect's end it, not the stuck send.
    await publisher.onApplicationShutdown();
    expect(await lost()).toBe(before + 5);
    // No sender was started beside the stuck one once shutdown began.
    expect(sends).toBe(1);
  }, 15_000);
});
