import type { Meter } from '../meters/meter';
import {
  CLOUDEVENTS_BATCH_JSON,
  CLOUDEVENTS_JSON,
  IntakeRules,
  MAX_EVENTS_PER_REQUEST,
  validateIntake,
} from './event-intake';

const NOW = Date.parse('2026-11-24T10:00:00Z');
const tokens: Meter = {
  key: 'llm_tokens',
  version: 1,
  eventType: 'llm.completion',
  aggregation: 'sum',
  valuePath: '$.tokens',
  groupBy: {},
};
const rules: IntakeRules = {
  nowMs: NOW,
  lateWindowMs: 72 * 3_600_000,
  futureSkewMs: 300_000,
  metersFor: (type) => (type === tokens.eventType ? [tokens] : []),
};

const event = (id: string, extra: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id,
  source: 'svc',
  type: 'llm.completion',
  subject: '00000000-0000-4000-8000-0000000000c1',
  time: '2026-11-24T09:59:00Z',
  data: { tokens: 5 },
  ...extra,
});

describe('validateIntake', () => {
  it('accepts a valid batch, events of types no meter reads included', () => {
    const result = validateIntake(
      [event('e0'), event('e1', { type: 'not.metered', data: { tokens: 'lots' } })],
      CLOUDEVENTS_BATCH_JSON,
      rules,
    );
    expect(result).toMatchObject({ ok: true, meterDependent: true });
    expect(result.ok && result.events.map((e) => e.id)).toEqual(['e0', 'e1']);
  });

  it('refuses the whole batch, naming each bad event by index and field', () => {
    const withoutSubject: Record<string, unknown> = event('e0');
    delete withoutSubject.subject;
    const result = validateIntake(
      [
        withoutSubject,
        event('e1'),
        event('e2', { data: { tokens: -3 } }),
        event('e3', { time: '2026-11-24T10:05:01Z' }),
        event('e4', { time: '2026-11-21T09:59:59Z' }),
        event('e5', { data: [1] }),
        event('e6'),
      ],
      CLOUDEVENTS_BATCH_JSON,
      rules,
    );
    expect(result).toEqual({
      ok: false,
      eventsRefused: true,
      meterDependent: true,
      errors: [
        { field: '[0].subject', message: 'subject must be a non-empty string' },
        {
          field: '[2].data.tokens',
          message: expect.stringMatching(/^meter llm_tokens: \$\.tokens must be a non-negative/),
        },
        {
          field: '[3].time',
          message: 'time 2026-11-24T10:05:01Z is more than 300 s in the future',
        },
        {
          field: '[4].time',
          message: 'time 2026-11-21T09:59:59Z is older than the late-event window of 72 h',
        },
        { field: '[5].data', message: 'data must be a JSON object' },
      ],
    });
  });

  it('takes events exactly at the edges of the window', () => {
    const oldest = new Date(NOW - rules.lateWindowMs).toISOString();
    const newest = new Date(NOW + rules.futureSkewMs).toISOString();
    const result = validateIntake(
      [event('e0', { time: oldest }), event('e1', { time: newest })],
      CLOUDEVENTS_BATCH_JSON,
      rules,
    );
    expect(result).toMatchObject({ ok: true, meterDependent: false });
  });

  it('names the fields of a single event without an index', () => {
    const result = validateIntake(event('e0', { data: { tokens: 0.5 } }), CLOUDEVENTS_JSON, rules);
    expect(result).toMatchObject({
      ok: false,
      eventsRefused: true,
      errors: [{ field: 'data.tokens', message: expect.stringContaining('non-negative integer') }],
    });
  });

  it('says when only fresher meters could change the answer', () => {
    const late = event('e0', { type: 'not.metered', time: '2026-11-01T00:00:00Z' });
    expect(validateIntake([late], CLOUDEVENTS_BATCH_JSON, rules)).toMatchObject({
      ok: false,
      meterDependent: false,
    });
    expect(validateIntake([event('e1')], CLOUDEVENTS_BATCH_JSON, rules)).toMatchObject({
      ok: true,
      meterDependent: false,
    });
  });

  it('refuses a wrong envelope as such, not as refused events', () => {
    const tooMany = Array.from({ length: MAX_EVENTS_PER_REQUEST + 1 }, (_, i) => event(`e${i}`));
    // An empty batch is valid (CloudEvents JSON format): nothing accepted, nothing refused.
    expect(validateIntake([], CLOUDEVENTS_BATCH_JSON, rules)).toEqual({
      ok: true,
      events: [],
      meterDependent: false,
    });
    for (const [body, type] of [
      [event('e0'), CLOUDEVENTS_BATCH_JSON],
      [[event('e0')], CLOUDEVENTS_JSON],
      [tooMany, CLOUDEVENTS_BATCH_JSON],
    ] as const) {
      expect(validateIntake(body, type, rules)).toMatchObject({
        ok: false,
        eventsRefused: false,
        errors: [{ field: '' }],
      });
    }
  });
});
