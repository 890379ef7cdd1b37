import type { IncomingMessage } from 'node:http';
import {
  clientErrorProblem,
  headerFieldsProblem,
  rawProblemResponse,
  targetProblem,
  versionProblem,
} from './http-edge';
import { INPUT_LIMITS } from './input-limits';

const parserError = (code: string, packet?: string) =>
  Object.assign(new Error(code), {
    code,
    rawPacket: packet === undefined ? undefined : Buffer.from(packet, 'latin1'),
  });

describe('clientErrorProblem', () => {
  it.each([
    ['HPE_INVALID_METHOD', 'FOO /x HTTP/1.1\r\n', 'not-implemented'],
    ['HPE_INVALID_METHOD', 'GARBAGE\r\n\r\n', 'bad-request'],
    ['HPE_LF_EXPECTED', 'GET / HTTP/1.1\nHost: x\n\n', 'bad-request'],
    ['HPE_INVALID_HEADER_TOKEN', 'GET / HTTP/1.1\r\nBad Header: y\r\n', 'bad-request'],
    ['HPE_HEADER_OVERFLOW', 'GET / HTTP/1.1\r\nX-Big: aaaa', 'request-header-fields-too-large'],
    [
      'HPE_HEADER_OVERFLOW',
      `GET /${'a'.repeat(INPUT_LIMITS.urlLength + 1)} HTTP/1.1\r\n`,
      'uri-too-long',
    ],
    ['ERR_HTTP_REQUEST_TIMEOUT', undefined, 'request-timeout'],
    ['HPE_INVALID_VERSION', 'GET / HTTP/3.0\r\nHost: x\r\n', 'http-version-not-supported'],
    ['HPE_INVALID_VERSION', 'GET / HTTP/1.2\r\n', 'http-version-not-supported'],
    ['HPE_INVALID_VERSION', 'GET / HTTP/1.11\r\n', 'bad-request'],
    // What llhttp says of a request line ended by a bare LF.
    ['HPE_INVALID_VERSION', 'GET / HTTP/1.1\nHost: x\n\n', 'bad-request'],
    ['HPE_INVALID_VERSION', 'GET / HTTX/1.1\r\n', 'bad-request'],
    ['HPE_PAUSED_H2_UPGRADE', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'http-version-not-supported'],
  ])('%s on %j → %s', (code, packet, expected) => {
    expect(clientErrorProblem(parserError(code, packet)).code).toBe(expected);
  });

  it('names the version it does not support, and closes the connection', () => {
    expect(clientErrorProblem(parserError('HPE_INVALID_VERSION', 'GET / HTTP/3.0\r\n'))).toEqual({
      code: 'http-version-not-supported',
      extensions: { version: 'HTTP/3.0' },
      headers: { connection: 'close' },
    });
    expect(
      clientErrorProblem(parserError('HPE_PAUSED_H2_UPGRADE', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'))
        .extensions,
    ).toEqual({ version: 'HTTP/2.0' });
  });
});

describe('rawProblemResponse', () => {
  it('is a complete HTTP/1.1 problem response that closes the connection', () => {
    const errors = [{ field: 'request-line', messages: ['not HTTP/1.x'] }];
    const raw = rawProblemResponse({ code: 'bad-request', extensions: { errors } }, 'req-1');
    const [head, body] = raw.split('\r\n\r\n');
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(head).toMatch(/\r\nContent-Type: application\/problem\+json\r\n/);
    expect(head).toMatch(/\r\nX-Request-Id: req-1\r\n/);
    expect(head).toMatch(/\r\nConnection: close$/);
    expect(head).toContain(`Content-Length: ${Buffer.byteLength(body)}`);
    expect(JSON.parse(body)).toEqual({
      type: 'https://paygate.dev/problems/bad-request',
      title: 'Bad request',
      status: 400,
      detail: 'The request is malformed and cannot be processed.',
      code: 'BAD_REQUEST',
      requestId: 'req-1',
      errors,
    });
  });
});

describe('versionProblem', () => {
  const request = (major: number, minor: number) =>
    ({ httpVersionMajor: major, httpVersionMinor: minor }) as IncomingMessage;

  it('lets HTTP/1.1 and HTTP/1.0 through', () => {
    expect(versionProblem(request(1, 1))).toBeUndefined();
    expect(versionProblem(request(1, 0))).toBeUndefined();
  });

  it('answers what Node takes besides them with 505, naming the version, connection closed', () => {
    for (const [major, minor] of [
      [2, 0],
      [0, 9],
    ])
      expect(versionProblem(request(major, minor))).toEqual({
        code: 'http-version-not-supported',
        extensions: { version: `HTTP/${major}.${minor}` },
        headers: { connection: 'close' },
      });
  });
});

describe('headerFieldsProblem', () => {
  const request = (rawHeaders: string[], minor = 1) =>
    ({ rawHeaders, httpVersionMajor: 1, httpVersionMinor: minor }) as IncomingMessage;
  const fieldOf = (rawHeaders: string[], minor = 1) =>
    (
      headerFieldsProblem(request(rawHeaders, minor))?.extensions?.errors as { field: string }[]
    )?.[0]?.field;

  it('takes one Host, in any case', () => {
    expect(headerFieldsProblem(request(['Host', 'a', 'X-Api-Key', 'k']))).toBeUndefined();
    expect(headerFieldsProblem(request(['hOsT', 'a']))).toBeUndefined();
  });

  it('refuses an HTTP/1.1 request without Host, not an HTTP/1.0 one', () => {
    expect(fieldOf(['Accept', '*/*'])).toBe('host');
    expect(headerFieldsProblem(request(['Accept', '*/*']))?.headers).toEqual({
      connection: 'close',
    });
    expect(headerFieldsProblem(request(['Accept', '*/*'], 0))).toBeUndefined();
  });

  it('takes the chunked coding alone; any other transfer coding is a 501, the connection closed', () => {
    for (const value of ['chunked', 'Chunked', ' chunked '])
      expect(
        headerFieldsProblem(request(['Host', 'a', 'Transfer-Encoding', value])),
      ).toBeUndefined();
    for (const lines of [
      ['Transfer-Encoding', 'gzip, chunked'],
      ['transfer-encoding', 'gzip', 'Transfer-Encoding', 'chunked'],
      ['TRANSFER-ENCODING', 'br'],
    ]) {
      const problem = headerFieldsProblem(request(['Host', 'a', ...lines]));
      expect(problem).toMatchObject({ code: 'not-implemented', headers: { connection: 'close' } });
    }
  });

  it('refuses two Host fields, whatever their values', () => {
    expect(fieldOf(['Host', 'a', 'HOST', 'b'])).toBe('host');
    expect(fieldOf(['Host', 'a', 'host', 'a'])).toBe('host');
  });

  it('refuses more header fields than the limit with 431, and takes the limit itself', () => {
    const fields = (n: number) => [
      'Host',
      'a',
      ...Array.from({ length: n - 1 }, (_, i) => [`x-${i}`, 'v']).flat(),
    ];
    expect(headerFieldsProblem(request(fields(INPUT_LIMITS.headerFields)))).toBeUndefined();
    expect(headerFieldsProblem(request(fields(INPUT_LIMITS.headerFields + 1)))).toMatchObject({
      code: 'request-header-fields-too-large',
      extensions: { fieldLimit: INPUT_LIMITS.headerFields },
    });
  });
});

describe('targetProblem', () => {
  it('refuses a fragment in the path, naming the path', () => {
    for (const url of ['/demo/x#frag', '/#/../demo/x', '/a#'])
      expect(targetProblem(url)).toMatchObject({
        code: 'bad-request',
        extensions: { errors: [{ field: 'path' }] },
      });
  });

  it('refuses one in the query too, naming the query', () => {
    expect(targetProblem('/demo/x?a=1#frag')).toMatchObject({
      extensions: { errors: [{ field: 'query' }] },
    });
  });

  it('takes a path without one', () => {
    expect(targetProblem('/demo/x?q=1')).toBeUndefined();
    expect(targetProblem('/demo/%23x')).toBeUndefined();
  });
});
