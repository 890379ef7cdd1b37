import { OutboundTooLargeError, chunkBySize, outboundSize } from './outbound-chunks';
import type { OutboundMessage } from './producer';

const message = (bytes: number, i = 0): OutboundMessage => ({
  topic: 't',
  key: `k${i}`,
  value: Buffer.alloc(bytes),
  headers: { h: 'v' },
});

describe('chunkBySize', () => {
  it('keeps order and never puts more than the limit in one chunk', () => {
    const messages = Array.from({ length: 50 }, (_, i) => message(60_000 + i * 997, i));
    const chunks = chunkBySize(messages, 256 * 1024);
    expect(chunks.flat()).toEqual(messages);
    for (const chunk of chunks) {
      expect(chunk.reduce((n, m) => n + outboundSize(m), 0)).toBeLessThanOrEqual(256 * 1024);
    }
    expect(chunks.length).toBeGreaterThan(10);
  });

  it('puts a message of exactly the limit in a chunk of its own', () => {
    const small = message(10);
    const exact = message(1000 - (outboundSize(message(0)) - 0));
    expect(outboundSize(exact)).toBe(1000);
    expect(chunkBySize([small, exact, small], 1000)).toEqual([[small], [exact], [small]]);
  });

  it('refuses a single message above the limit instead of sending a batch that always fails', () => {
    expect(() => chunkBySize([message(2000)], 1000)).toThrow(OutboundTooLargeError);
  });

  it('returns no chunk for no message', () => {
    expect(chunkBySize([], 1000)).toEqual([]);
  });
});
