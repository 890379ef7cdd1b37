import { checkParsedInput, notJson } from './body-parsers';

describe('checkParsedInput', () => {
  it('accepts ordinary bodies', () => {
    expect(checkParsedInput({ name: 'x', features: [{ key: 'a', units: 1 }], n: null })).toEqual(
      [],
    );
  });

  it('names a NUL in a string or a key by its field path', () => {
    expect(checkParsedInput({ a: [{ b: 'x\u0000' }], ['k\u0000']: 1 })).toEqual([
      { field: 'k\u0000', messages: ['names must not contain NUL (\\u0000) or a lone surrogate'] },
      { field: 'a.0.b', messages: ['must not contain NUL (\\u0000)'] },
    ]);
    expect(checkParsedInput('\u0000')).toEqual([
      { field: 'body', messages: ['must not contain NUL (\\u0000)'] },
    ]);
  });

  it('names a lone surrogate in a string or a key (jsonb refuses it), and takes whole pairs', () => {
    // Keys are looked at as their object is, before the strings under them.
    expect(checkParsedInput({ name: 'a\ud800', ['k\udc00']: 1, emoji: '\ud83d\ude00' })).toEqual([
      { field: 'k\udc00', messages: ['names must not contain NUL (\\u0000) or a lone surrogate'] },
      { field: 'name', messages: ['must be whole Unicode (a lone surrogate like \\ud800 is not)'] },
    ]);
    expect(checkParsedInput(JSON.parse('{"name":"\\ud800x"}'))).toHaveLength(1);
  });

  it('refuses nesting beyond the limit, naming where, without recursion', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const problems = checkParsedInput({ name: deep }, 64);
    expect(problems).toHaveLength(1);
    expect(problems[0].field).toBe(['name', ...Array<string>(63).fill('0')].join('.'));
    expect(problems[0].messages).toEqual(['must not be nested more than 64 levels deep']);
  });

  it('takes exactly the limit', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 64; i++) deep = { a: deep };
    expect(checkParsedInput(deep, 64)).toEqual([]);
    expect(checkParsedInput({ b: deep }, 64)).toHaveLength(1);
  });
});

describe('notJson', () => {
  it('says why a body is not taken, without quoting it', () => {
    expect(notJson('')).toMatch(/^must not be empty/);
    expect(notJson(' \n')).toMatch(/^must not be empty/);
    expect(notJson('[1,2')).toBe(
      "must be JSON: Expected ',' or ']' after array element in JSON at position 4",
    );
    expect(notJson('{"secret":pg_live_abcdef}')).toBe("must be JSON: Unexpected token 'p'");
    expect(notJson('{"a":1} x')).toMatch(/^must be JSON: Unexpected non-whitespace/);
    expect(notJson('{"__proto__":{"x":1}}')).toMatch(/__proto__/);
  });
});
