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
});
