import type { UsageEvent } from '@paygate/contracts';
import { MAX_EVENT_VALUE, type Meter, meterValue, servedEventsProblem } from './meter';

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

  it('refuses a distinct id or a group value past 2^53 − 1 as a number (rounded: ids would merge)', () => {
    expect(meterValue(meter('unique_count'), event(MAX_EVENT_VALUE))).toMatchObject({
      ok: true,
      reading: { distinct: String(MAX_EVENT_VALUE) },
    });
    expect(meterValue(meter('unique_count'), event('9007199254740993'))).toMatchObject({
      ok: true,
      reading: { distinct: '9007199254740993' },
    });
    expect(meterValue(meter('unique_count'), event(9007199254740993)).ok).toBe(false);
    const grouped = { ...meter('count'), groupBy: { account: '$.n' } };
    expect(meterValue(grouped, event(MAX_EVENT_VALUE)).ok).toBe(true);
    expect(meterValue(grouped, event(-(2 ** 60)))).toEqual({
      ok: false,
      detail:
        'meter tokens: group account ($.n) is a number past 9007199254740991; send it as a string',
    });
  });

  it('bounds max and latest at ±(2^53 − 1)', () => {
    expect(meterValue(meter('max'), event(-MAX_EVENT_VALUE)).ok).toBe(true);
    expect(meterValue(meter('latest'), event(-MAX_EVENT_VALUE - 2)).ok).toBe(false);
    expect(meterValue(meter('max'), event(MAX_EVENT_VALUE + 2)).ok).toBe(false);
  });
});

describe('meterValue of an event standing for many occurrences', () => {
  const many = (n: unknown, occurrences: number): UsageEvent => ({ ...event(n), occurrences });

  it('reads the value of one occurrence and how many there were', () => {
    expect(meterValue(meter('sum'), many(3, 250))).toMatchObject({
      ok: true,
      reading: { amount: 3, times: 250 },
    });
    expect(meterValue(meter('count'), many(3, 250))).toMatchObject({
      ok: true,
      reading: { amount: 1, times: 250 },
    });
    expect(meterValue(meter('max'), many(-3, 7))).toMatchObject({
      ok: true,
      reading: { amount: -3, times: 7 },
    });
    expect(meterValue(meter('sum'), event(3))).toMatchObject({ reading: { times: 1 } });
  });

  it('refuses a sum whose value × occurrences passes 2^53 − 1, as it refuses such a value', () => {
    expect(meterValue(meter('sum'), many(2 ** 22, 2 ** 31 - 1)).ok).toBe(true);
    expect(meterValue(meter('sum'), many(2 ** 23, 2 ** 31 - 1))).toEqual({
      ok: false,
      detail: 'meter tokens: $.n × occurrences must be at most 9007199254740991',
    });
    // max and latest read one occurrence's value: no product to bound.
    expect(meterValue(meter('max'), many(MAX_EVENT_VALUE, 2 ** 31 - 1)).ok).toBe(true);
  });
});

describe('servedEventsProblem: meters of the gateway own events', () => {
  const served = (aggregation: Meter['aggregation'], valuePath: string | null): Meter => ({
    ...meter(aggregation),
    eventType: 'dev.paygate.request.served',
    valuePath,
  });

  it('takes what the gateway sends', () => {
    expect(servedEventsProblem(served('count', null))).toBeUndefined();
    expect(servedEventsProblem(served('sum', '$.units'))).toBeUndefined();
    expect(servedEventsProblem(served('max', '$.status'))).toBeUndefined();
    expect(servedEventsProblem(served('unique_count', '$.route'))).toBeUndefined();
    expect(servedEventsProblem(served('latest', '$.units'))).toBeUndefined();
  });

  it('refuses a field they do not carry, or one of the wrong kind, naming what they carry', () => {
    for (const [aggregation, path] of [
      ['max', '$.latencyMs'],
      ['sum', '$.feature'],
      ['sum', '$'],
      ['unique_count', '$.nope'],
    ] as const) {
      const problem = servedEventsProblem(served(aggregation, path));
      expect(problem).toContain(path);
      expect(problem).toContain('$.units, $.feature, $.route, $.method, $.status');
    }
  });

  it("leaves other event types alone: their data is the publisher's", () => {
    expect(servedEventsProblem({ ...meter('max'), valuePath: '$.latencyMs' })).toBeUndefined();
  });
});
