import type { UsageEvent } from '@paygate/contracts';
import { MAX_EVENT_VALUE, type Meter, meterValue } from './meter';

const meter = (aggregation: Meter['aggregation']): Meter => ({
  key: 'tokens',
  version: 1,
  eventType: 't',
  aggregation,
  valuePath: '$.n',
  groupBy: {},
});
const event = (n: unknown): UsageEvent => ({
  specversion: '1.0',
  id: '1',
  source: 's',
  type: 't',
  subject: 'c1',
  time: '2026-11-24T10:00:10Z',
  data: { n },
});

describe('meterValue bounds', () => {
  it('reads values up to 2^53 − 1 and refuses larger ones', () => {
    expect(meterValue(meter('sum'), event(MAX_EVENT_VALUE))).toMatchObject({
      ok: true,
      reading: { amount: MAX_EVENT_VALUE },
    });
    for (const n of [MAX_EVENT_VALUE + 1, 2 ** 60, 1e300, -1, 1.5, '5'])
      expect(meterValue(meter('sum'), event(n)).ok).toBe(false);
    expect(meterValue(meter('sum'), event(2 ** 53))).toEqual({
      ok: false,
      detail: 'meter tokens: $.n must be a non-negative integer up to 9007199254740991',
    });
  });

  it('bounds max and latest at ±(2^53 − 1)', () => {
    expect(meterValue(meter('max'), event(-MAX_EVENT_VALUE)).ok).toBe(true);
    expect(meterValue(meter('latest'), event(-MAX_EVENT_VALUE - 2)).ok).toBe(false);
    expect(meterValue(meter('max'), event(MAX_EVENT_VALUE + 2)).ok).toBe(false);
  });
});
