import type { ServerResponse } from 'node:http';
import { parseRouteTable } from '../routes/route-table';
import { allowedOrigin, isPreflight, withVary } from './cors';

const withCors = (cors: unknown) =>
  JSON.stringify({
    routes: [
      {
        name: 'a',
        pathPrefix: '/a',
        upstream: 'http://127.0.0.1:4000',
        feature: 'f',
        cost: 1,
        cors,
      },
    ],
  });

describe('CORS of a route', () => {
  it('takes exact origins or "*", and refuses paths, upper case and other schemes, naming cors', () => {
    const route = parseRouteTable(
      withCors({ origins: ['https://app.example.com', 'http://localhost:5173'] }),
      't',
    )[0];
    expect(route.cors?.origins).toHaveLength(2);
    expect(parseRouteTable(withCors({ origins: ['*'] }), 't')[0].cors?.origins).toEqual(['*']);
    for (const origins of [
      [],
      ['https://app.example.com/'],
      ['https://App.example.com'],
      ['ftp://app.example.com'],
      ['https://*.example.com'],
      'https://app.example.com',
    ]) {
      expect(() => parseRouteTable(withCors({ origins }), 't')).toThrow(/cors/);
    }
    expect(() =>
      parseRouteTable(withCors({ origins: ['*'], headers: ['bad header'] }), 't'),
    ).toThrow(/cors/);
    expect(() => parseRouteTable(withCors({ origins: ['*'], maxAgeSeconds: 86_401 }), 't')).toThrow(
      /cors/,
    );
  });

  it('allows an origin on the list as sent, any origin with "*", and none without an Origin', () => {
    const cors = { origins: ['https://app.example.com'] };
    expect(allowedOrigin(cors, 'https://app.example.com')).toBe('https://app.example.com');
    expect(allowedOrigin(cors, 'https://app.example.com.evil.test')).toBeUndefined();
    expect(allowedOrigin(cors, 'null')).toBeUndefined();
    expect(allowedOrigin(cors, undefined)).toBeUndefined();
    expect(allowedOrigin({ origins: ['*'] }, 'https://any.test')).toBe('*');
  });

  it('is a preflight only as OPTIONS with an Origin and the method it asks about', () => {
    const asking = { origin: 'https://a.test', 'access-control-request-method': 'POST' };
    expect(isPreflight('OPTIONS', asking)).toBe(true);
    expect(isPreflight('GET', asking)).toBe(false);
    expect(isPreflight('OPTIONS', { origin: 'https://a.test' })).toBe(false);
    expect(isPreflight('OPTIONS', { 'access-control-request-method': 'POST' })).toBe(false);
  });

  it("keeps the upstream's Vary, adding the gateway's to it", () => {
    const fields = new Map<string, string>([['vary', 'Origin']]);
    const res = {
      getHeader: (name: string) => fields.get(name),
      removeHeader: (name: string) => fields.delete(name),
    } as unknown as ServerResponse;
    const upstream: Record<string, string> = { vary: 'Accept-Encoding' };
    withVary(res, upstream);
    expect(upstream.vary).toBe('Accept-Encoding, Origin');
    expect(fields.has('vary')).toBe(false);
    const none: Record<string, string> = {};
    withVary(res, none);
    expect(none.vary).toBeUndefined();
  });
});
