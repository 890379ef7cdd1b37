import type { IncomingMessage } from 'node:http';
import { proxyRequest } from './proxy-request';

const incoming = (
  method: string,
  headers: Record<string, string>,
  socket: { encrypted?: boolean; remoteAddress?: string } = {},
) =>
  ({
    method,
    url: '/v1/x?y=1',
    headers,
    socket: { remoteAddress: '10.0.0.9', ...socket },
  }) as unknown as IncomingMessage;

describe('proxyRequest', () => {
  it('carries the id, target, method, headers and peer address', () => {
    const headers = { host: 'api.example' };
    const request = proxyRequest(incoming('GET', headers), 'req-1');
    expect(request).toEqual({
      id: 'req-1',
      url: '/v1/x?y=1',
      method: 'GET',
      headers,
      protocol: 'http',
      remoteAddress: '10.0.0.9',
      body: undefined,
      leaseId: '',
    });
  });

  it.each([
    ['POST', { 'content-length': '5' }, true],
    ['PUT', { 'transfer-encoding': 'chunked' }, true],
    ['DELETE', { 'content-length': '2' }, true],
    ['POST', { 'content-length': '0' }, false],
    ['POST', {}, false],
    ['GET', { 'content-length': '5' }, false],
    ['HEAD', { 'transfer-encoding': 'chunked' }, false],
  ])('%s with %j forwards a body: %s', (method, headers, forwarded) => {
    const req = incoming(method, headers);
    expect(proxyRequest(req, 'id').body).toBe(forwarded ? req : undefined);
  });

  it.each([
    [{}, {}, 'http'],
    [{}, { encrypted: true }, 'https'],
    [{ 'x-forwarded-proto': 'https' }, {}, 'https'],
    // The last entry is the proxy nearest to the gateway.
    [{ 'x-forwarded-proto': 'http, https' }, {}, 'https'],
    [{ 'x-forwarded-proto': 'https,http' }, { encrypted: true }, 'http'],
    [{ 'x-forwarded-proto': 'HTTPS' }, {}, 'https'],
    // Anything but a scheme is not taken: it would go into the gateway's own Forwarded entry.
    [{ 'x-forwarded-proto': 'https;for="[::1]";host="admin.internal"' }, {}, 'http'],
    [{ 'x-forwarded-proto': 'http, ftp' }, { encrypted: true }, 'https'],
    [{ 'x-forwarded-proto': '' }, {}, 'http'],
  ])('headers %j on socket %j: protocol %s', (headers, socket, protocol) => {
    expect(proxyRequest(incoming('GET', headers, socket), 'id').protocol).toBe(protocol);
  });
});
