import type { UsageEvent } from '@paygate/contracts';
import {
  MAX_EVENT_VALUE,
  type Meter,
  canonicalJson,
  groupKey,
  meterValue,
  servedEventsProblem,
} from './meter';

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

describe('groupKey: one group per combination of values', () => {
  const grouped: Meter = { ...meter('count'), groupBy: { shape: '$.shape', model: '$.model' } };

  it('keeps the key of scalar values as it always was (stored rollups stay where they are)', () => {
    expect(groupKey(grouped, { shape: 'round', model: 'large' })).toBe(
      '{"model":"large","shape":"round"}',
    );
    expect(groupKey(grouped, { shape: 5, model: true })).toBe('{"model":"true","shape":"5"}');
    expect(groupKey(grouped, { shape: 'x' })).toBe('{"model":null,"shape":"x"}');
    expect(groupKey({ ...grouped, groupBy: {} }, { shape: 'x' })).toBe('{}');
  });

  it('reads an object value the same whatever the order of its members, at any depth', () => {
    const a = groupKey(grouped, {
      model: 'm',
      shape: { a: 1, b: { d: [1, { f: 1, e: 2 }], c: 3 } },
    });
    const b = groupKey(grouped, {
      model: 'm',
      shape: { b: { c: 3, d: [1, { e: 2, f: 1 }] }, a: 1 },
    });
    expect(a).toBe(b);
    expect(JSON.parse(a)).toEqual({
      model: 'm',
      shape: '{"a":1,"b":{"c":3,"d":[1,{"e":2,"f":1}]}}',
    });
    // An object whose members came sorted already has the key it had before canonical JSON.
    expect(groupKey(grouped, { model: 'm', shape: { a: 1, b: 2 } })).toBe(
      JSON.stringify({ model: 'm', shape: JSON.stringify({ a: 1, b: 2 }) }),
    );
  });

  it('keeps apart what differs: the order of an array, a member missing, a string', () => {
    const key = (shape: unknown) => groupKey(grouped, { model: 'm', shape });
    expect(key([1, 2])).not.toBe(key([2, 1]));
    expect(key({ a: 1, b: null })).not.toBe(key({ a: 1 }));
    expect(key({ a: 1 })).not.toBe(key({ a: '1' }));
  });
});

describe('canonicalJson', () => {
  it('sorts members by name, recursively, and keeps arrays in order', () => {
    expect(canonicalJson({ b: [{ z: 1, y: 2 }, 3], a: null })).toBe(
      '{"a":null,"b":[{"y":2,"z":1},3]}',
    );
    expect(canonicalJson('s')).toBe('"s"');
  });

  it('keeps a member named __proto__ as a member', () => {
    const parsed: unknown = JSON.parse('{"z":1,"__proto__":{"x":1}}');
    expect(canonicalJson(parsed)).toBe('{"__proto__":{"x":1},"z":1}');
    expect(canonicalJson(parsed)).not.toBe(canonicalJson({ z: 1 }));
  });
});
