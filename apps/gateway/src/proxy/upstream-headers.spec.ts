import type { IncomingHttpHeaders } from 'node:http';
import type { ProxyRequest } from './proxy-request';
import { upstreamHeaders } from './upstream-headers';

const request = (headers: IncomingHttpHeaders, more: Partial<ProxyRequest> = {}): ProxyRequest => ({
  id: 'req-1',
  url: '/v1/x',
  method: 'GET',
  headers,
  protocol: 'http',
  remoteAddress: '10.0.0.9',
  body: undefined,
  leaseId: '',
  ...more,
});

/** The flat list as name → values, for order-free checks. */
function fields(list: string[]): Record<string, string[]> {
  expect(list.length % 2).toBe(0);
  const out: Record<string, string[]> = {};
  for (let i = 0; i < list.length; i += 2) (out[list[i]] ??= []).push(list[i + 1]);
  return out;
}

describe('upstreamHeaders', () => {
  it("passes the caller's fields on and adds this hop's forwarding fields", () => {
    const list = upstreamHeaders(
      request({ host: 'api.example', accept: 'application/json', 'content-length': '12' }),
      'cus_1',
    );
    expect(fields(list)).toEqual({
      accept: ['application/json'],
      'content-length': ['12'],
      'x-forwarded-for': ['10.0.0.9'],
      'x-forwarded-proto': ['http'],
      'x-forwarded-host': ['api.example'],
      forwarded: ['for=10.0.0.9;proto=http;host="api.example"'],
      'x-request-id': ['req-1'],
      'x-paygate-customer-id': ['cus_1'],
    });
  });

  it('drops credentials, Host, Expect, hop-by-hop fields and the fields Connection names', () => {
    const list = upstreamHeaders(
      request({
        host: 'api.example',
        authorization: 'Bearer pg_live_secret',
        'x-api-key': 'pg_live_secret',
        'payment-signature': 'eyJ…',
        expect: '100-continue',
        connection: 'keep-alive, X-Private-Hop',
        'keep-alive': 'timeout=5',
        'x-private-hop': 'secret',
        te: 'trailers',
        'transfer-encoding': 'chunked',
        'proxy-authorization': 'Basic Zm9vOmJhcg==',
        'content-type': 'application/json',
      }),
      'cus_1',
    );
    const names = Object.keys(fields(list));
    expect(names).toContain('content-type');
    for (const gone of [
      'host',
      'authorization',
      'x-api-key',
      'payment-signature',
      'expect',
      'connection',
      'keep-alive',
      'x-private-hop',
      'te',
      'transfer-encoding',
      'proxy-authorization',
    ])
      expect(names).not.toContain(gone);
    expect(list.join('\n')).not.toContain('pg_live_secret');
  });

  it("never lets the caller's own customer id, request id or forwarding fields through as the gateway's", () => {
    const list = upstreamHeaders(
      request(
        {
          'x-paygate-customer-id': 'cus_someone_else',
          'x-request-id': 'req-1',
          'x-forwarded-for': '192.0.2.60',
          'x-forwarded-proto': 'https',
          'x-forwarded-host': 'evil.example',
          forwarded: 'for=192.0.2.60;proto=https',
        },
        { protocol: 'https' },
      ),
      'cus_1',
    );
    const got = fields(list);
    expect(got['x-paygate-customer-id']).toEqual(['cus_1']);
    expect(got['x-request-id']).toEqual(['req-1']);
    // Earlier hops are kept in the chains, this hop appended; each field once.
    expect(got['x-forwarded-for']).toEqual(['192.0.2.60, 10.0.0.9']);
    expect(got['x-forwarded-proto']).toEqual(['https']);
    expect(got['x-forwarded-host']).toBeUndefined();
    expect(got.forwarded).toEqual(['for=192.0.2.60;proto=https, for=10.0.0.9;proto=https']);
  });

  it('sends each value of a field Node keeps as a list on its own line, and skips unknown peers', () => {
    const list = upstreamHeaders(
      request({ 'set-cookie': ['a=1', 'b=2'] }, { remoteAddress: undefined }),
      'cus_1',
    );
    const got = fields(list);
    expect(got['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(got['x-forwarded-for']).toBeUndefined();
    expect(got.forwarded).toEqual(['for=unknown;proto=http']);
  });
});
