import { apiKeyFrom } from './api-key';

describe('apiKeyFrom', () => {
  it('reads a bearer token', () => {
    expect(apiKeyFrom({ authorization: 'Bearer pg_live_abc' })).toBe('pg_live_abc');
    expect(apiKeyFrom({ authorization: 'bearer pg_live_abc ' })).toBe('pg_live_abc');
  });

  it('reads X-API-Key', () => {
    expect(apiKeyFrom({ 'x-api-key': ' pg_live_abc ' })).toBe('pg_live_abc');
  });

  it('refuses values longer than any issued key', () => {
    expect(apiKeyFrom({ 'x-api-key': 'k'.repeat(513) })).toBeUndefined();
    expect(apiKeyFrom({ authorization: `Bearer ${'k'.repeat(512)}` })).toHaveLength(512);
  });

  it('finds none in other schemes or empty headers', () => {
    expect(apiKeyFrom({ authorization: 'Basic dXNlcjpwYXNz' })).toBeUndefined();
    expect(apiKeyFrom({ 'x-api-key': '  ' })).toBeUndefined();
    expect(apiKeyFrom({})).toBeUndefined();
  });

  it('takes X-API-Key next to another Authorization scheme (a payment credential), never next to a broken Bearer', () => {
    expect(
      apiKeyFrom({ authorization: 'Payment eyJjaGFsbGVuZ2UiOnt9fQ', 'x-api-key': 'pg_live_abc' }),
    ).toBe('pg_live_abc');
    expect(apiKeyFrom({ authorization: 'Bearer', 'x-api-key': 'pg_live_abc' })).toBeUndefined();
    expect(apiKeyFrom({ authorization: 'Bearer a b', 'x-api-key': 'pg_live_abc' })).toBeUndefined();
  });
});
