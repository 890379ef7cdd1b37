import { operatorApi } from './seed-demo';

describe('operatorApi', () => {
  const sent: { method?: string; headers: Record<string, string>; body?: unknown }[] = [];
  beforeEach(() => {
    sent.length = 0;
    jest.spyOn(globalThis, 'fetch').mockImplementation(async (_url, init) => {
      sent.push({
        method: init?.method,
        headers: init?.headers as Record<string, string>,
        body: init?.body,
      });
      return new Response(null, { status: 204 });
    });
  });
  afterEach(() => jest.restoreAllMocks());

  it('sends Content-Type with a body only: a DELETE or GET without one is not refused as empty JSON', async () => {
    const call = operatorApi('http://entitlement', 'token');
    await expect(call('DELETE', '/v1/api-keys/k')).resolves.toBeUndefined();
    await call('GET', '/v1/customers/c/balance');
    await call('POST', '/v1/customers', { name: 'n' });
    expect(sent).toEqual([
      { method: 'DELETE', headers: { authorization: 'Bearer token' }, body: undefined },
      { method: 'GET', headers: { authorization: 'Bearer token' }, body: undefined },
      {
        method: 'POST',
        headers: { authorization: 'Bearer token', 'content-type': 'application/json' },
        body: '{"name":"n"}',
      },
    ]);
  });
});
