import type { InboundMessage } from '@paygate/messaging';
import type { Meter } from '../meters/meter';
import { ClassifyOptions, bucketStart, classifyBatch } from './usage-batch';

const meter = (m: Partial<Meter> & Pick<Meter, 'key' | 'aggregation'>): Meter => ({
  version: 1,
  eventType: 'dev.paygate.request.served',
  valuePath: '$.units',
  groupBy: {},
  ...m,
});

const meters: Meter[] = [
  meter({ key: 'api_requests', aggregation: 'sum', groupBy: { region: '$.region' } }),
  meter({ key: 'request_count', aggregation: 'count', valuePath: null }),
  meter({ key: 'largest', aggregation: 'max' }),
  meter({ key: 'callers', aggregation: 'unique_count', valuePath: '$.caller' }),
];
const NOW = Date.parse('2026-11-24T10:01:00Z');
const options = (extra: Partial<ClassifyOptions> = {}): ClassifyOptions => ({
  metersFor: (type) => meters.filter((m) => m.eventType === type),
  nowMs: NOW,
  lateWindowMs: 3_600_000,
  futureSkewMs: 300_000,
  unknownMeter: 'dead-letter',
  unknownCustomer: 'accept',
  customerKnown: (subject) => subject === '00000000-0000-4000-8000-0000000000c1',
  ...extra,
});

let offset = 0;
function message(value: unknown, headers: Record<string, string> = {}): InboundMessage {
  offset += 1;
  return {
    topic: 'paygate.usage.v1',
    partition: 0,
    offset: String(offset),
    key: null,
    value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    headers,
    timestamp: '0',
  };
}

const event = (
  data: Record<string, unknown>,
  type = 'dev.paygate.request.served',
  time = '2026-11-24T10:00:30Z',
) => ({
  specversion: '1.0',
  id: `e${offset}`,
  source: 's',
  type,
  subject: '00000000-0000-4000-8000-0000000000c1',
  time,
  data,
});

describe('classifyBatch', () => {
  it('reads every meter of the event type, with its group', () => {
    const { accepted, deadLetters } = classifyBatch(
      [message(event({ units: 4, region: 'eu', caller: 'svc-a' }))],
      options(),
    );
    expect(deadLetters).toEqual([]);
    expect(accepted[0].readings.map((r) => [r.meter.key, r.amount, r.distinct, r.group])).toEqual([
      ['api_requests', 4, null, '{"region":"eu"}'],
      ['request_count', 1, null, '{}'],
      ['largest', 4, null, '{}'],
      ['callers', 1, 'svc-a', '{}'],
    ]);
  });

  it('puts a missing group value in the null group rather than refusing the event', () => {
    const { accepted } = classifyBatch([message(event({ units: 1, caller: 'x' }))], options());
    expect(accepted[0].readings[0].group).toBe('{"region":null}');
  });

  it('decodes binary-mode events from ce_ headers', () => {
    const { accepted, deadLetters } = classifyBatch(
      [
        message(
          { units: 7, caller: 'k' },
          {
            ce_specversion: '1.0',
            ce_id: 'bin-1',
            ce_source: 'kcat',
            ce_type: 'dev.paygate.request.served',
            ce_subject: '00000000-0000-4000-8000-0000000000c9',
            ce_time: '2026-11-24T10:00:00Z',
            'content-type': 'application/json',
          },
        ),
      ],
      options(),
    );
    expect(deadLetters).toEqual([]);
    expect(accepted[0].event).toMatchObject({
      id: 'bin-1',
      subject: '00000000-0000-4000-8000-0000000000c9',
      data: { units: 7 },
    });
  });

  it('dead-letters a binary-mode event whose ce_ header was not valid UTF-8', () => {
    const bad = message(
      { units: 1 },
      {
        ce_specversion: '1.0',
        ce_id: 'bin-\ufffd',
        ce_source: 'kcat',
        ce_type: 'dev.paygate.request.served',
        ce_subject: '00000000-0000-4000-8000-0000000000c9',
        ce_time: '2026-11-24T10:00:00Z',
      },
    );
    const { accepted, deadLetters } = classifyBatch(
      [{ ...bad, undecodableHeaders: ['ce_id'] }],
      options(),
    );
    expect(accepted).toEqual([]);
    expect(deadLetters).toEqual([
      expect.objectContaining({ reason: 'invalid', detail: 'id: header ce_id is not valid UTF-8' }),
    ]);
  });

  it('dead-letters bad JSON, invalid events, unknown types and bad values with a reason', () => {
    const { accepted, deadLetters } = classifyBatch(
      [
        message('not json'),
        message({ id: 'x' }),
        message(event({ units: 1, caller: 'a' }, 'unknown.type')),
        message(event({ units: 1.5, caller: 'a' })),
        message(event({ caller: 'a' })),
        message(event({ units: 1, caller: 'a' }, undefined, '2026-11-24T08:59:59Z')),
        message(event({ units: 1, caller: 'a' }, undefined, '2026-11-24T10:06:01Z')),
      ],
      options(),
    );
    expect(accepted).toEqual([]);
    expect(deadLetters.map((d) => d.reason)).toEqual([
      'malformed-json',
      'invalid',
      'unknown-meter',
      'invalid-value',
      'invalid-value',
      'late',
      'invalid',
    ]);
    expect(deadLetters[3].detail).toMatch(/\$\.units must be a non-negative integer/);
    expect(deadLetters[6].detail).toMatch(/in the future/);
  });

  it('holds events of unknown types when the policy says so', () => {
    const { held, deadLetters } = classifyBatch(
      [message(event({}, 'not.yet.metered'))],
      options({ unknownMeter: 'hold' }),
    );
    expect(deadLetters).toEqual([]);
    expect(held.map((h) => h.eventType)).toEqual(['not.yet.metered']);
  });
});

describe('classifyBatch with an unknown-customer policy', () => {
  const stranger = () => ({
    ...event({ units: 1, caller: 'a' }),
    subject: '00000000-0000-4000-8000-00000000000b',
  });

  it('accepts anyone by default, and dead-letters or holds strangers when asked', () => {
    expect(classifyBatch([message(stranger())], options()).accepted).toHaveLength(1);
    const refused = classifyBatch(
      [message(stranger())],
      options({ unknownCustomer: 'dead-letter' }),
    );
    expect(refused.deadLetters.map((d) => [d.reason, d.subject])).toEqual([
      ['unknown-customer', '00000000-0000-4000-8000-00000000000b'],
    ]);
    const held = classifyBatch(
      [message(stranger()), message(event({ units: 1, caller: 'a' }))],
      options({ unknownCustomer: 'hold' }),
    );
    expect(held.held.map((h) => [h.reason, h.subject])).toEqual([
      ['unknown-customer', '00000000-0000-4000-8000-00000000000b'],
    ]);
    expect(held.accepted).toHaveLength(1);
  });
});

describe('bucketStart', () => {
  it('floors to the minute in UTC', () => {
    const ms = bucketStart(Date.parse('2026-11-24T10:00:59.999+01:00'));
    expect(new Date(ms).toISOString()).toBe('2026-11-24T09:00:00.000Z');
  });
});
