import type { InboundMessage } from '@paygate/messaging';
import type { Meter } from '../meters/meter';
import { bucketStart, classifyBatch } from './usage-batch';

const meters: Meter[] = [
  {
    key: 'api_requests',
    eventType: 'dev.paygate.request.served',
    aggregation: 'sum',
    valuePath: '$.units',
  },
  {
    key: 'request_count',
    eventType: 'dev.paygate.request.served',
    aggregation: 'count',
    valuePath: null,
  },
];
const metersFor = (type: string) => meters.filter((m) => m.eventType === type);

let offset = 0;
function message(value: unknown): InboundMessage {
  offset += 1;
  return {
    topic: 'paygate.usage.v1',
    partition: 0,
    offset: String(offset),
    key: null,
    value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    headers: {},
    timestamp: '0',
  };
}

const event = (data: Record<string, unknown>, type = 'dev.paygate.request.served') => ({
  specversion: '1.0',
  id: `e${offset}`,
  source: 's',
  type,
  subject: 'c1',
  time: '2026-11-24T10:00:30Z',
  data,
});

describe('classifyBatch', () => {
  it('computes each meter value of an accepted event', () => {
    const { accepted, deadLetters } = classifyBatch([message(event({ units: 4 }))], metersFor);
    expect(deadLetters).toEqual([]);
    expect(accepted[0].values).toEqual([
      { meterKey: 'api_requests', value: 4 },
      { meterKey: 'request_count', value: 1 },
    ]);
  });

  it('dead-letters bad JSON, invalid events, unknown types and bad values with a reason', () => {
    const { accepted, deadLetters } = classifyBatch(
      [
        message('not json'),
        message({ id: 'x' }),
        message(event({ units: 1 }, 'unknown.type')),
        message(event({ units: 1.5 })),
        message(event({})),
      ],
      metersFor,
    );
    expect(accepted).toEqual([]);
    expect(deadLetters.map((d) => d.reason)).toEqual([
      'malformed-json',
      'invalid',
      'unknown-meter',
      'invalid-value',
      'invalid-value',
    ]);
    expect(deadLetters[3].detail).toMatch(/\$\.units must be a non-negative integer/);
  });
});

describe('bucketStart', () => {
  it('floors to the minute in UTC', () => {
    expect(bucketStart('2026-11-24T10:00:59.999+01:00').toISOString()).toBe(
      '2026-11-24T09:00:00.000Z',
    );
  });
});
