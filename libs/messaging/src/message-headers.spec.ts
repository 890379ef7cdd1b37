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

  it('treats a missing header map as empty', () => {
    expect(headersOf(undefined)).toEqual({ headers: {}, undecodable: [] });
  });
});
