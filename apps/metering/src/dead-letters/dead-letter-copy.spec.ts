import { createHash } from 'node:crypto';
import { DEAD_LETTER_HEADERS } from '@paygate/contracts';
import { outboundSize } from '@paygate/messaging';
import type { InboundMessage } from '@paygate/messaging';
import { dlqMessage, keptHeaders, letterValue, pgText } from './dead-letter-copy';

const inbound = (value: Buffer, headers: Record<string, string> = {}): InboundMessage => ({
  topic: 'usage',
  partition: 2,
  offset: '41',
  key: Buffer.from('cus_1'),
  value,
  headers,
  timestamp: '1',
});

describe('dead-letter copies', () => {
  it('keeps a value that fits whole, with the reason and where it came from', () => {
    const m = dlqMessage(
      { message: inbound(Buffer.from('{bad')), reason: 'malformed-json', detail: 'x' },
      'dlq',
      1024,
      900 * 1024,
    );
    expect(m.value).toEqual(Buffer.from('{bad'));
    expect(m.headers).toMatchObject({
      [DEAD_LETTER_HEADERS.reason]: 'malformed-json',
      [DEAD_LETTER_HEADERS.partition]: '2',
      [DEAD_LETTER_HEADERS.offset]: '41',
    });
    expect(m.headers?.[DEAD_LETTER_HEADERS.valueCut]).toBeUndefined();
  });

  it('cuts a value over the limit and records its size and SHA-256', () => {
    const big = Buffer.alloc(950_000, 7);
    const m = dlqMessage(
      { message: inbound(big), reason: 'too-large', detail: 'event is 950000 bytes' },
      'dlq',
      256 * 1024,
      900 * 1024,
    );
    expect((m.value as Buffer).length).toBe(256 * 1024);
    expect(m.headers).toMatchObject({
      [DEAD_LETTER_HEADERS.valueCut]: 'true',
      [DEAD_LETTER_HEADERS.valueBytes]: '950000',
      [DEAD_LETTER_HEADERS.valueSha256]: createHash('sha256').update(big).digest('hex'),
    });
  });

  it('always fits the send limit, even with huge original headers and value', () => {
    const m = dlqMessage(
      {
        message: inbound(Buffer.alloc(1_000_000), { huge: 'h'.repeat(600_000) }),
        reason: 'too-large',
        detail: 'd'.repeat(10_000),
      },
      'dlq',
      1_000_000,
      900 * 1024,
    );
    expect(outboundSize(m)).toBeLessThanOrEqual(900 * 1024);
    expect(m.headers?.[DEAD_LETTER_HEADERS.headersCut]).toBe(String(4 + 600_000));
    expect(m.headers?.huge).toBeUndefined();
  });

  it('letterValue and pgText', () => {
    expect(letterValue(null, 10)).toEqual({ value: Buffer.alloc(0) });
    expect(letterValue(Buffer.from('abcdef'), 3).value.toString()).toBe('abc');
    expect(pgText('a\u0000b')).toBe('a\uFFFDb');
  });

  it('leaves out headers that were not valid UTF-8: a replay never carries their lossy text', () => {
    const message = {
      ...inbound(Buffer.from('{}'), { ce_id: 'a\uFFFDb', ce_source: 'svc' }),
      undecodableHeaders: ['ce_id'],
    };
    expect(keptHeaders(message)).toEqual({ ce_source: 'svc' });
    const m = dlqMessage(
      { message, reason: 'invalid', detail: 'id: header ce_id is not valid UTF-8' },
      'dlq',
      1024,
      900 * 1024,
    );
    expect(m.headers?.ce_id).toBeUndefined();
    expect(m.headers).toMatchObject({ ce_source: 'svc', [DEAD_LETTER_HEADERS.reason]: 'invalid' });
  });
});
