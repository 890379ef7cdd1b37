import { connectionNamed, forwardedHeader, withoutHopByHop } from './hop-by-hop';

describe('hop-by-hop headers', () => {
  it('drops connection-specific fields and every field Connection names', () => {
    expect(
      withoutHopByHop({
        connection: 'keep-alive, X-Private-Hop',
        'keep-alive': 'timeout=5',
        'x-private-hop': 'secret',
        te: 'trailers',
        'transfer-encoding': 'chunked',
        upgrade: 'websocket',
        'proxy-authorization': 'Basic Zm9vOmJhcg==',
        'content-type': 'application/json',
        'x-request-id': 'r-1',
      }),
    ).toEqual({ 'content-type': 'application/json', 'x-request-id': 'r-1' });
  });

  it('reads Connection: keep-alive or close (any case) as naming nothing more, and any other list in full', () => {
    for (const connection of ['keep-alive', 'Keep-Alive', ' close ', 'CLOSE'])
      expect(connectionNamed(connection)).toBeUndefined();
    expect(connectionNamed(undefined)).toBeUndefined();
    expect(connectionNamed('close, X-Secret')).toEqual(new Set(['close', 'x-secret']));
    expect(connectionNamed('keep-alive,x-a , X-B')).toEqual(new Set(['keep-alive', 'x-a', 'x-b']));
    expect(
      withoutHopByHop({ connection: 'Keep-Alive', 'keep-alive': 'timeout=5', accept: '*/*' }),
    ).toEqual({ accept: '*/*' });
  });

  it('keeps everything when there is nothing hop-by-hop', () => {
    const headers = { accept: '*/*', 'content-length': '12' };
    expect(withoutHopByHop(headers)).toEqual(headers);
  });
});

describe('Forwarded (RFC 7239)', () => {
  it('describes this hop, quoting IPv6 and the host', () => {
    expect(forwardedHeader(undefined, { for: '::1', proto: 'http', host: 'api.example.com' })).toBe(
      'for="[::1]";proto=http;host="api.example.com"',
    );
  });

  it('appends to what earlier proxies sent', () => {
    expect(forwardedHeader('for=192.0.2.60;proto=https', { for: '10.0.0.7', proto: 'http' })).toBe(
      'for=192.0.2.60;proto=https, for=10.0.0.7;proto=http',
    );
  });
});
