import type { UsageEvent } from '@paygate/contracts';
import { Meter, meterValue } from '../meters/meter';
import { AdmissionWindow, admissionProblem, admitEvent } from './event-admission';

const NOW = Date.parse('2026-11-24T10:00:00Z');
const window: AdmissionWindow = { nowMs: NOW, lateWindowMs: 3_600_000, futureSkewMs: 300_000 };

const meter = (m: Partial<Meter> & Pick<Meter, 'key' | 'aggregation'>): Meter => ({
  version: 1,
  eventType: 't',
  valuePath: '$.tokens',
  groupBy: {},
  ...m,
});
const tokens = meter({ key: 'tokens', aggregation: 'sum' });
const count = meter({ key: 'calls', aggregation: 'count', valuePath: null });
const callers = meter({ key: 'callers', aggregation: 'unique_count', valuePath: '$.who.id' });

/** meterValue's own refusal (its wording is the meter's, not admission's). */
const why = (m: Meter, e: UsageEvent) => {
  const v = meterValue(m, e);
  return v.ok ? '' : v.detail;
};

const event = (data: Record<string, unknown>, at = NOW): UsageEvent => ({
  specversion: '1.0',
  id: 'e1',
  source: 's',
  type: 't',
  subject: 'c1',
  time: new Date(at).toISOString(),
  data,
});

describe('admitEvent', () => {
  it('admits an event with every reading of its meters and its parsed time', () => {
    const admitted = admitEvent(
      event({ tokens: 3, who: { id: 'u1' } }),
      [tokens, count, callers],
      window,
    );
    expect(admitted).toMatchObject({ ok: true, timeMs: NOW });
    expect(
      admitted.ok && admitted.readings.map((r) => [r.meter.key, r.amount, r.distinct]),
    ).toEqual([
      ['tokens', 3, null],
      ['calls', 1, null],
      ['callers', 1, 'u1'],
    ]);
  });

  it('admits events exactly at the edges of the window and refuses them 1 ms beyond', () => {
    const oldest = NOW - window.lateWindowMs;
    const newest = NOW + window.futureSkewMs;
    expect(admitEvent(event({}, oldest), [], window).ok).toBe(true);
    expect(admitEvent(event({}, newest), [], window).ok).toBe(true);
    expect(admitEvent(event({}, oldest - 1), [], window)).toMatchObject({
      ok: false,
      reason: 'late',
    });
    expect(admitEvent(event({}, newest + 1), [], window)).toMatchObject({
      ok: false,
      reason: 'invalid',
    });
  });

  it('refuses a late event with the dead-letter detail the consumer always wrote', () => {
    const late = event({ tokens: 1 }, Date.parse('2026-11-24T08:59:59Z'));
    expect(admissionProblem(late, [tokens], window)).toEqual({
      reason: 'late',
      detail: 'time 2026-11-24T08:59:59.000Z is older than the late-event window of 1 h',
      errors: [
        {
          field: 'time',
          message: 'time 2026-11-24T08:59:59.000Z is older than the late-event window of 1 h',
        },
      ],
    });
  });

  it('refuses an event from the future as invalid, naming the skew', () => {
    const future = event({ tokens: 1 }, Date.parse('2026-11-24T10:05:01Z'));
    expect(admissionProblem(future, [tokens], window)).toEqual({
      reason: 'invalid',
      detail: 'time: 2026-11-24T10:05:01.000Z is more than 300 s in the future',
      errors: [
        {
          field: 'time',
          message: 'time 2026-11-24T10:05:01.000Z is more than 300 s in the future',
        },
      ],
    });
  });

  it('checks the time before the values: a late event with a bad value is late', () => {
    const both = event({ tokens: -1 }, NOW - window.lateWindowMs - 1);
    expect(admissionProblem(both, [tokens], window)?.reason).toBe('late');
  });

  it('refuses a value a meter cannot read, naming the data field of each failing meter', () => {
    const bad = event({ tokens: 1.5, who: 7 });
    const tokensDetail = why(tokens, bad);
    const callersDetail = why(callers, bad);
    expect(tokensDetail).toMatch(/^meter tokens: \$\.tokens must be a non-negative integer/);
    expect(admissionProblem(bad, [tokens, count, callers], window)).toEqual({
      reason: 'invalid-value',
      detail: `${tokensDetail}; ${callersDetail}`,
      errors: [
        { field: 'data.tokens', message: tokensDetail },
        { field: 'data.who.id', message: callersDetail },
      ],
    });
    expect(admissionProblem(event({}), [tokens], window)?.errors).toEqual([
      { field: 'data.tokens', message: why(tokens, event({})) },
    ]);
  });

  it('checks only the time of an event no meter reads (unknown types are not refused)', () => {
    expect(admissionProblem(event({ tokens: 'many' }), [], window)).toBeUndefined();
    expect(admitEvent(event({ tokens: 'many' }), [], window)).toEqual({
      ok: true,
      timeMs: NOW,
      readings: [],
    });
  });
});
