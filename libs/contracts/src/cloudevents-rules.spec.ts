import { decodeUsageEvent, parseUsageEvent, validateUsageEvent } from './usage-event';
import { timestampMs } from './cloudevents-rules';

const valid = {
  specversion: '1.0',
  id: 'e-1',
  source: '/mycontext/subcontext',
  type: 'com.example.someevent',
  subject: '00000000-0000-4000-8000-0000000000c1',
  time: '2026-11-24T10:00:00Z',
  data: { units: 1 },
};
const check = (changes: Record<string, unknown>) => validateUsageEvent({ ...valid, ...changes });
const fields = (changes: Record<string, unknown>) => {
  const result = check(changes);
  return result.ok ? [] : result.errors.map((e) => e.field);
};

/** Issue 20: what CloudEvents 1.0.2 allows is accepted, what it forbids is refused. */
describe('CloudEvents 1.0.2 rules on usage events', () => {
  it('accepts datacontenttype with parameters, in any case, +json types and null (unset)', () => {
    for (const datacontenttype of [
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'application/vnd.example+json',
      null,
    ])
      expect(check({ datacontenttype })).toMatchObject({ ok: true });
    expect(fields({ datacontenttype: 'text/plain' })).toEqual(['datacontenttype']);
    // null is unset: the accepted event does not carry it.
    const unset = check({ datacontenttype: null });
    expect(unset.ok && 'datacontenttype' in unset.event).toBe(false);
  });

  it('accepts extension names past 20 characters (a SHOULD NOT), up to 64', () => {
    expect(check({ averyveryverylongextensionname: 'x' })).toMatchObject({ ok: true });
    expect(fields({ ['a'.repeat(65)]: 'x' })).toEqual(['a'.repeat(65)]);
    expect(fields({ Upper: 'x' })).toEqual(['Upper']);
  });

  it('accepts a leap second, counted in the minute it names', () => {
    expect(check({ time: '2016-12-31T23:59:60Z' })).toMatchObject({ ok: true });
    expect(timestampMs('2016-12-31T23:59:60Z')).toBe(Date.parse('2016-12-31T23:59:59.999Z'));
    expect(timestampMs('2016-12-31T23:59:60.5+01:00')).toBe(
      Date.parse('2016-12-31T23:59:59.999+01:00'),
    );
  });

  it('refuses a time that is not a real date or time', () => {
    for (const time of [
      '2026-11-31T00:00:00Z',
      '2026-02-29T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-11-24T24:00:00Z',
      '2026-11-24T10:61:00Z',
      '2026-11-24T10:00:00',
      '2026-11-24T10:00:00+25:00',
    ])
      expect(fields({ time })).toEqual(['time']);
    expect(check({ time: '2028-02-29T00:00:00Z' })).toMatchObject({ ok: true });
  });

  it('refuses a source that is not a URI-reference and a dataschema that is not an absolute URI', () => {
    expect(fields({ source: 'has space' })).toEqual(['source']);
    expect(fields({ source: 'bad%zz' })).toEqual(['source']);
    expect(check({ source: 'urn:event:from:myapi/resource/123' })).toMatchObject({ ok: true });
    expect(fields({ dataschema: '' })).toEqual(['dataschema']);
    expect(fields({ dataschema: '/relative/schema' })).toEqual(['dataschema']);
    expect(check({ dataschema: 'https://example.com/schema.json' })).toMatchObject({ ok: true });
  });

  it('refuses extension values that are objects, arrays, fractions or past 32 bits', () => {
    for (const value of [{ a: 1 }, [1], 1.5, 2 ** 31, -(2 ** 31) - 1])
      expect(fields({ myext: value })).toEqual(['myext']);
    for (const value of ['text', true, 2 ** 31 - 1, -(2 ** 31)])
      expect(check({ myext: value })).toMatchObject({ ok: true });
  });

  it('refuses control characters and lone surrogates in strings, and invalid UTF-8 bytes', () => {
    expect(fields({ id: 'a\u0000b' })).toEqual(['id']);
    expect(fields({ id: 'a\ud800b' })).toEqual(['id']);
    expect(fields({ subject: '\udc00' })).toEqual(['subject']);
    expect(check({ id: 'emoji \ud83d\ude00 ok' })).toMatchObject({ ok: true });
    // Noncharacters: U+FFFE, and U+1FFFE / U+10FFFF as surrogate pairs.
    expect(fields({ id: 'a\ufffe' })).toEqual(['id']);
    expect(fields({ id: 'a\ud83f\udffe' })).toEqual(['id']);
    expect(fields({ id: 'a\udbff\udfff' })).toEqual(['id']);
    // The bytes of a lone surrogate (CESU-8), which a lenient decoder turns into U+FFFD.
    const json = Buffer.from(JSON.stringify({ ...valid, id: 'X' }));
    const at = json.indexOf('"X"') + 1;
    const bytes = Buffer.concat([
      json.subarray(0, at),
      Buffer.from([0xed, 0xa0, 0x80]),
      json.subarray(at + 1),
    ]);
    expect(parseUsageEvent(bytes)).toMatchObject({ ok: false, reason: 'malformed-json' });
  });

  it('names the real rule for data_base64', () => {
    const result = check({ data_base64: 'AAEC' });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          field: 'data_base64',
          message: expect.stringMatching(/binary data/),
        }),
      ]),
    );
  });

  it('reads a Kafka structured message that also carries ce_ headers as structured', () => {
    const result = decodeUsageEvent(Buffer.from(JSON.stringify(valid)), {
      'content-type': 'application/cloudevents+json; charset=utf-8',
      ce_specversion: '1.0',
      ce_id: 'e-1',
    });
    expect(result).toMatchObject({ ok: true, event: { id: 'e-1', data: { units: 1 } } });
  });

  it('refuses a member repeated in one object, on Kafka in both modes', () => {
    const text = JSON.stringify(valid).replace('"units":1', '"units":1,"units":1000');
    expect(parseUsageEvent(text)).toMatchObject({
      ok: false,
      reason: 'invalid',
      errors: [{ message: 'member "units" appears twice in one JSON object' }],
    });
    const binary = decodeUsageEvent(Buffer.from('{"units":1,"units":2}'), {
      ce_specversion: '1.0',
      ce_id: 'b',
      ce_source: 's',
      ce_type: 't',
      ce_subject: 'c',
      ce_time: '2026-11-24T10:00:00Z',
    });
    expect(binary).toMatchObject({ ok: false, reason: 'invalid' });
  });
});
