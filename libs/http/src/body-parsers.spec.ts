import { sendProblem, toProblemInput } from '@paygate/problem-details';
import Fastify from 'fastify';
import { gzipSync } from 'node:zlib';
import {
  bodyEncodingProblem,
  charsetsOf,
  checkParsedInput,
  notJson,
  registerBodyParsers,
} from './body-parsers';

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

describe('charsetsOf', () => {
  it('reads every charset parameter, token or quoted string, in any case of its name', () => {
    expect(charsetsOf('application/json')).toEqual([]);
    expect(charsetsOf('application/json; charset=utf-8')).toEqual(['utf-8']);
    expect(charsetsOf('application/json;CHARSET="UTF-16"')).toEqual(['UTF-16']);
    expect(charsetsOf('application/json; charset = utf-8 ; charset=latin1')).toEqual([
      'utf-8',
      'latin1',
    ]);
    expect(charsetsOf('application/json; charset="ut\\f-8"')).toEqual(['utf-8']);
    // A quoted value of another parameter is not a parameter of its own.
    expect(charsetsOf('application/json; x="a;charset=utf-16"; charset=utf-8')).toEqual(['utf-8']);
    expect(charsetsOf('application/json; charset=')).toEqual(['']);
  });
});

describe('bodyEncodingProblem', () => {
  const json = (...more: string[]) => ['Content-Type', 'application/json', ...more];
  const problem = (rawHeaders: string[], bytes = 2) =>
    bodyEncodingProblem(rawHeaders, bytes)?.problem;

  it('takes a body as sent: no coding or identity, no charset or UTF-8 in any case', () => {
    expect(problem(json())).toBeUndefined();
    expect(problem(json('Content-Encoding', 'identity'))).toBeUndefined();
    expect(problem(json('content-encoding', 'Identity, IDENTITY'))).toBeUndefined();
    expect(problem(['content-type', 'application/json; charset=utf-8'])).toBeUndefined();
    expect(
      problem(['content-type', 'application/cloudevents+json; charset=UTF-8']),
    ).toBeUndefined();
    expect(problem(['content-type', 'application/json; charset="utf-8"'])).toBeUndefined();
    // A coding on no body codes nothing.
    expect(problem(json('Content-Encoding', 'gzip'), 0)).toBeUndefined();
  });

  it('refuses a content coding other than identity with 415, saying which one', () => {
    for (const [lines, coding] of [
      [['Content-Encoding', 'gzip'], 'gzip'],
      [['content-encoding', 'BR'], 'BR'],
      [['Content-Encoding', 'identity, gzip'], 'gzip'],
      // Two lines are one list (RFC 9110 §5.3).
      [['Content-Encoding', 'identity', 'Content-Encoding', 'deflate'], 'deflate'],
    ] as const) {
      expect(problem(json(...lines))).toEqual({
        code: 'unsupported-media-type',
        detail: `Content-Encoding ${coding} is not supported: send the body without a content coding (identity).`,
        headers: { 'accept-encoding': 'identity' },
      });
    }
    expect(problem(json('Content-Encoding', 'x'.repeat(100)))?.detail).toMatch(
      /^Content-Encoding x{64}… is/,
    );
  });

  it('refuses a charset other than UTF-8, quoted or not, with 415 naming it', () => {
    for (const [type, charset] of [
      ['application/json; charset=utf-16', 'utf-16'],
      ['application/json;charset="ISO-8859-1"', 'ISO-8859-1'],
      ['application/json; charset=utf-8; charset=utf-16le', 'utf-16le'],
      ['application/json; charset=latin1', 'latin1'],
    ]) {
      expect(problem(['Content-Type', type])).toEqual({
        code: 'unsupported-media-type',
        detail: `charset ${charset} is not supported: the body is read as UTF-8 (send charset=utf-8, or none).`,
      });
    }
    // UTF-8 by another of its labels: taken.
    expect(problem(['Content-Type', 'application/json; charset=UTF8'])).toBeUndefined();
  });

  it('refuses a Content-Type given twice with 400 naming it, whatever the values', () => {
    for (const second of ['text/plain', 'application/json']) {
      expect(problem(json('content-type', second), 0)).toEqual({
        code: 'validation-failed',
        extensions: { errors: [{ field: 'content-type', messages: ['must be sent once'] }] },
      });
    }
  });
});

describe('registerBodyParsers', () => {
  async function app() {
    const fastify = Fastify();
    registerBodyParsers(fastify, {
      rawBody: false,
      jsonContentTypes: ['application/cloudevents+json'],
      formPathPrefixes: ['/form'],
    });
    fastify.setErrorHandler((err, request, reply) => {
      const input = toProblemInput(err);
      if (!input) throw err;
      sendProblem(reply, request, input);
    });
    fastify.post('/json', async (request) => ({ got: request.body }));
    fastify.post('/form', async (request) => ({ got: request.body }));
    await fastify.ready();
    return fastify;
  }
  const body = JSON.stringify({ name: 'café' });

  it('answers a gzip body 415 saying the coding is not supported, not "must be UTF-8"', async () => {
    const fastify = await app();
    const gzip = await fastify.inject({
      method: 'POST',
      url: '/json',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      payload: gzipSync(body),
    });
    expect(gzip.statusCode).toBe(415);
    expect(gzip.headers['accept-encoding']).toBe('identity');
    expect(gzip.json()).toMatchObject({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      detail: expect.stringMatching(/^Content-Encoding gzip is not supported/),
    });
    // A plain body labelled br is refused too: nothing is read as it was not sent.
    const br = await fastify.inject({
      method: 'POST',
      url: '/json',
      headers: { 'content-type': 'application/cloudevents+json', 'content-encoding': 'br' },
      payload: body,
    });
    expect(br.statusCode).toBe(415);
    const identity = await fastify.inject({
      method: 'POST',
      url: '/json',
      headers: { 'content-type': 'application/json', 'content-encoding': 'identity' },
      payload: body,
    });
    expect(identity.json()).toEqual({ got: { name: 'café' } });
    await fastify.close();
  });

  it('answers a charset besides UTF-8 415, and takes UTF-8 said in any case', async () => {
    const fastify = await app();
    const post = (type: string, payload: string | Buffer) =>
      fastify.inject({ method: 'POST', url: '/json', headers: { 'content-type': type }, payload });
    const utf16 = await post('application/json; charset=utf-16le', Buffer.from(body, 'utf16le'));
    expect(utf16.statusCode).toBe(415);
    expect(utf16.json().detail).toMatch(/^charset utf-16le is not supported/);
    expect((await post('application/json; charset="UTF-8"', body)).json()).toEqual({
      got: { name: 'café' },
    });
    await fastify.close();
  });

  it('holds form bodies to the same: no coding, no charset besides UTF-8', async () => {
    const fastify = await app();
    const post = (headers: Record<string, string>) =>
      fastify.inject({ method: 'POST', url: '/form', headers, payload: 'a=1' });
    const form = 'application/x-www-form-urlencoded';
    expect((await post({ 'content-type': form, 'content-encoding': 'deflate' })).statusCode).toBe(
      415,
    );
    expect((await post({ 'content-type': `${form}; charset=iso-8859-1` })).statusCode).toBe(415);
    expect((await post({ 'content-type': form })).json()).toEqual({ got: { a: '1' } });
    await fastify.close();
  });
});
