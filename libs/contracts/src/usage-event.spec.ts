import {
  MAX_OCCURRENCES,
  USAGE_EVENT_LIMITS,
  decodeUsageEvent,
  parseUsageEvent,
  validateUsageEvent,
} from './usage-event';

const valid = {
  specversion: '1.0',
  id: 'evt-1',
  source: 'billing-service',
  type: 'dev.paygate.request.served',
  subject: '00000000-0000-4000-8000-000000000001',
  time: '2026-11-24T10:00:00.123Z',
  data: { units: 3 },
};

describe('parseUsageEvent', () => {
  it('accepts a CloudEvents 1.0 structured JSON event', () => {
    const result = parseUsageEvent(Buffer.from(JSON.stringify(valid)));
    expect(result).toEqual({ ok: true, event: valid });
  });

  it('accepts offsets other than Z and the leaseid/requestid extensions', () => {
    const event = { ...valid, time: '2026-11-24T10:00:00+02:00', leaseid: 'l1', requestid: 'r1' };
    expect(parseUsageEvent(JSON.stringify(event)).ok).toBe(true);
  });

  it('bounds leaseid at maxLeaseIdLength characters, in structured and binary mode', () => {
    const max = USAGE_EVENT_LIMITS.maxLeaseIdLength;
    // A gateway's lease id (a UUID) and the bound itself are taken.
    const uuid = '5b3c7a36-2f1e-4b8e-9a0c-1f7c1d2e3f40';
    for (const leaseid of [uuid, 'l'.repeat(max)])
      expect(parseUsageEvent(JSON.stringify({ ...valid, leaseid })).ok).toBe(true);
    // One past it, and the 1,000 characters that made a usage.recorded message unsendable.
    for (const leaseid of ['l'.repeat(max + 1), 'l'.repeat(1000)])
      expect(parseUsageEvent(JSON.stringify({ ...valid, leaseid }))).toEqual({
        ok: false,
        reason: 'invalid',
        errors: [{ field: 'leaseid', message: `leaseid must be at most ${max} characters` }],
      });
    const binary = (leaseid: string) =>
      decodeUsageEvent(Buffer.from('{"units":3}'), {
        ce_specversion: '1.0',
        ce_id: 'b1',
        ce_source: 'gw',
        ce_type: 'dev.paygate.request.served',
        ce_subject: '00000000-0000-4000-8000-000000000001',
        ce_time: '2026-11-24T10:00:00Z',
        ce_leaseid: leaseid,
      });
    expect(binary(uuid)).toMatchObject({ ok: true, event: { leaseid: uuid } });
    expect(binary('l'.repeat(max + 1))).toMatchObject({
      ok: false,
      errors: [{ field: 'leaseid' }],
    });
  });

  it('takes the occurrences extension as a whole number from 1 to 2^31 − 1, and refuses others', () => {
    const withOccurrences = (occurrences: unknown) =>
      parseUsageEvent(JSON.stringify({ ...valid, occurrences }));
    expect(withOccurrences(1)).toMatchObject({ ok: true, event: { occurrences: 1 } });
    expect(withOccurrences(MAX_OCCURRENCES)).toMatchObject({
      ok: true,
      event: { occurrences: MAX_OCCURRENCES },
    });
    for (const bad of [0, -1, 1.5, MAX_OCCURRENCES + 1, 2 ** 53, '', 'x', true, {}, []])
      expect(withOccurrences(bad)).toMatchObject({
        ok: false,
        errors: [{ field: 'occurrences' }],
      });
    // Structured mode: the JSON Integer, not a string.
    expect(withOccurrences('5')).toMatchObject({ ok: true, event: { occurrences: 5 } });
    // Binary mode: a header, so a decimal string; leading zeros, signs and spaces refused.
    const binary = (occurrences: string) =>
      decodeUsageEvent(Buffer.from('{"units":3}'), {
        ce_specversion: '1.0',
        ce_id: 'b1',
        ce_source: 'gw',
        ce_type: 'dev.paygate.request.served',
        ce_subject: '00000000-0000-4000-8000-000000000001',
        ce_time: '2026-11-24T10:00:00Z',
        ce_occurrences: occurrences,
        'content-type': 'application/json',
      });
    expect(binary('250')).toMatchObject({ ok: true, event: { occurrences: 250 } });
    for (const bad of ['0', '007', '+5', ' 5', '2147483648', '1e3'])
      expect(binary(bad)).toMatchObject({ ok: false, errors: [{ field: 'occurrences' }] });
  });

  it('refuses bad JSON as malformed-json', () => {
    const result = parseUsageEvent(Buffer.from('{"id": '));
    expect(result).toMatchObject({ ok: false, reason: 'malformed-json' });
  });

  it('refuses an empty message', () => {
    expect(parseUsageEvent(null)).toMatchObject({ ok: false, reason: 'malformed-json' });
  });

  it('refuses events over the size limit before parsing', () => {
    const big = { ...valid, data: { pad: 'x'.repeat(USAGE_EVENT_LIMITS.maxBytes) } };
    expect(parseUsageEvent(JSON.stringify(big))).toMatchObject({ ok: false, reason: 'too-large' });
  });

  it('names every failing attribute', () => {
    const result = parseUsageEvent(
      JSON.stringify({
        specversion: '0.3',
        id: '',
        source: 'x',
        type: 't',
        time: '2026-11-24 10:00',
        data: [],
      }),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toBe('invalid');
    expect(result.errors.map((e) => e.field).sort()).toEqual([
      'data',
      'id',
      'specversion',
      'subject',
      'time',
    ]);
  });

  it('refuses a time without an offset and impossible dates', () => {
    expect(parseUsageEvent(JSON.stringify({ ...valid, time: '2026-11-24T10:00:00' })).ok).toBe(
      false,
    );
    expect(parseUsageEvent(JSON.stringify({ ...valid, time: '2026-13-01T10:00:00Z' })).ok).toBe(
      false,
    );
  });

  it('refuses attribute names that CloudEvents does not allow', () => {
    const result = parseUsageEvent(JSON.stringify({ ...valid, leaseId: 'l1' }));
    expect(result).toMatchObject({ ok: false, errors: [{ field: 'leaseId' }] });
  });

  it('refuses a non-object JSON value', () => {
    expect(parseUsageEvent('[1,2]')).toMatchObject({ ok: false, reason: 'invalid' });
  });
});

describe('usage-event.schema.json', () => {
  // The schema is the published contract; the validator is what runs. They must agree.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const schema = require('../schema/usage-event.schema.json') as {
    required: string[];
    properties: Record<string, { maxLength?: number }>;
    examples: unknown[];
  };

  it('takes the JSON media types the validator takes', () => {
    const pattern = new RegExp(
      (schema.properties.datacontenttype as unknown as { pattern: string }).pattern,
    );
    for (const type of [
      'application/json',
      'APPLICATION/JSON',
      'application/json; charset=utf-8',
      'application/vnd.example+json',
      'text/plain',
      'application/xml',
      'application/jsonx',
    ]) {
      const example = { ...(schema.examples[0] as object), datacontenttype: type };
      expect(pattern.test(type)).toBe(validateUsageEvent(example).ok);
    }
  });

  it('accepts its own examples', () => {
    for (const example of schema.examples) expect(validateUsageEvent(example).ok).toBe(true);
  });

  it('requires what the validator requires, with the same limits', () => {
    const required = validateUsageEvent({});
    expect(required.ok).toBe(false);
    const fields = required.ok ? [] : required.errors.map((e) => e.field);
    expect([...fields].sort()).toEqual([...schema.required].sort());
    // occurrences: the same bounds as the validator's.
    const occurrences = (
      schema.properties as unknown as Record<string, { oneOf: { maximum?: number }[] }>
    ).occurrences;
    expect(occurrences.oneOf[0].maximum).toBe(MAX_OCCURRENCES);
    expect(schema.properties.id.maxLength).toBe(USAGE_EVENT_LIMITS.maxIdLength);
    expect(schema.properties.source.maxLength).toBe(USAGE_EVENT_LIMITS.maxSourceLength);
    expect(schema.properties.type.maxLength).toBe(USAGE_EVENT_LIMITS.maxTypeLength);
    expect(schema.properties.subject.maxLength).toBe(USAGE_EVENT_LIMITS.maxSubjectLength);
    expect(schema.properties.leaseid.maxLength).toBe(USAGE_EVENT_LIMITS.maxLeaseIdLength);
  });
});

describe('decodeUsageEvent (binary mode)', () => {
  const headers = {
    ce_specversion: '1.0',
    ce_id: 'b-1',
    ce_source: 'svc',
    ce_type: 't',
    ce_subject: '00000000-0000-4000-8000-0000000000c1',
    ce_time: '2026-11-24T10:00:00Z',
  };

  it('reads attributes from ce_ headers and data from the value', () => {
    const result = decodeUsageEvent(Buffer.from('{"units":3}'), {
      ...headers,
      'content-type': 'application/json; charset=utf-8',
    });
    expect(result).toEqual({
      ok: true,
      event: {
        specversion: '1.0',
        id: 'b-1',
        source: 'svc',
        type: 't',
        subject: '00000000-0000-4000-8000-0000000000c1',
        time: '2026-11-24T10:00:00Z',
        // The content type as sent, parameters included (HTTP and Kafka bindings).
        datacontenttype: 'application/json; charset=utf-8',
        data: { units: 3 },
      },
    });
  });

  it('refuses bad data, missing attributes and oversized events', () => {
    expect(decodeUsageEvent(Buffer.from('{'), headers)).toMatchObject({
      ok: false,
      reason: 'malformed-json',
    });
    const noTime: Record<string, string> = { ...headers };
    delete noTime.ce_time;
    expect(decodeUsageEvent(Buffer.from('{}'), noTime)).toMatchObject({
      ok: false,
      reason: 'invalid',
    });
    const big = Buffer.from(JSON.stringify({ pad: 'x'.repeat(USAGE_EVENT_LIMITS.maxBytes) }));
    expect(decodeUsageEvent(big, headers)).toMatchObject({ ok: false, reason: 'too-large' });
  });

  it('refuses a ce_ header or content-type that was not valid UTF-8 (no U+FFFD ids)', () => {
    const lenient = { ...headers, ce_id: 'b\ufffd1', 'content-type': 'application/json' };
    expect(decodeUsageEvent(Buffer.from('{}'), lenient, ['ce_id'])).toEqual({
      ok: false,
      reason: 'invalid',
      errors: [{ field: 'id', message: 'header ce_id is not valid UTF-8' }],
    });
    expect(decodeUsageEvent(Buffer.from('{}'), lenient, ['content-type'])).toMatchObject({
      ok: false,
      errors: [{ field: 'datacontenttype', message: 'header content-type is not valid UTF-8' }],
    });
    // Other headers mean nothing to the event, and neither do ce_ headers in structured mode.
    expect(decodeUsageEvent(Buffer.from('{}'), headers, ['traceparent'])).toMatchObject({
      ok: true,
    });
    const structured = JSON.stringify({
      specversion: '1.0',
      id: 's-1',
      source: 'svc',
      type: 't',
      subject: '00000000-0000-4000-8000-0000000000c1',
      time: '2026-11-24T10:00:00Z',
      data: {},
    });
    expect(
      decodeUsageEvent(
        Buffer.from(structured),
        { 'content-type': 'application/cloudevents+json', ce_id: '\ufffd' },
        ['ce_id'],
      ),
    ).toMatchObject({ ok: true, event: { id: 's-1' } });
  });
});
