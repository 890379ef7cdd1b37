import { headersOf } from './message-headers';

describe('headersOf', () => {
  it('decodes Buffers, strings and the first of a repeated header', () => {
    expect(
      headersOf({
        ce_id: Buffer.from('évt-1'),
        plain: 'text',
        twice: [Buffer.from('a'), Buffer.from('b')],
        gone: undefined,
      }),
    ).toEqual({ headers: { ce_id: 'évt-1', plain: 'text', twice: 'a' }, undecodable: [] });
  });

  it('names a header whose bytes are not valid UTF-8 instead of hiding it behind U+FFFD', () => {
    const decoded = headersOf({
      ce_id: Buffer.from([0x61, 0xff, 0x62]),
      ce_source: Buffer.from([0xc3, 0x28]),
      ok: Buffer.from('fine'),
    });
    expect(decoded.undecodable).toEqual(['ce_id', 'ce_source']);
    expect(decoded.headers.ok).toBe('fine');
    expect(decoded.headers.ce_id).toBe('a\ufffdb');
  });

  it('takes a header with a null value as absent, not as the text "null"', () => {
    // Java's new RecordHeader(name, null) and librdkafka's NULL value arrive as null: an
    // absent ce_id must make the event malformed, not give every such event the id "null".
    expect(
      headersOf({
        ce_id: null,
        ce_source: Buffer.from('/svc'),
        twice: [null, Buffer.from('b')],
        onlyNulls: [null, null],
      }),
    ).toEqual({ headers: { ce_source: '/svc', twice: 'b' }, undecodable: [] });
  });

  it('keeps a header named __proto__ as a header', () => {
    const { headers } = headersOf({ ['__proto__']: Buffer.from('p'), ce_id: Buffer.from('e') });
    expect(Object.getPrototypeOf(headers)).toBe(Object.prototype);
    expect(Object.entries(headers)).toEqual([
      ['__proto__', 'p'],
      ['ce_id', 'e'],
    ]);
  });

  it('treats a missing header map as empty', () => {
    expect(headersOf(undefined)).toEqual({ headers: {}, undecodable: [] });
  });
});
