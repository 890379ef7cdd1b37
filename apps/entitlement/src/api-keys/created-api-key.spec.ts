import { generateApiKey } from './api-key-hash';
import { CreatedApiKey } from './created-api-key';

describe('a created API key', () => {
  const { key, prefix } = generateApiKey();
  const created = new CreatedApiKey(
    '7b0c2e4e-2f7a-4f51-9d0a-5c3c2d1e0f00',
    '0e9c1f55-8f2d-4a57-a3f4-2b8e7d1c6a00',
    key,
    prefix,
    ['read'],
    null,
  );

  it('answers the secret once, in the creating response', () => {
    expect(JSON.parse(JSON.stringify(created))).toEqual({
      id: created.id,
      customerId: created.customerId,
      key,
      prefix,
      scopes: ['read'],
      expiresAt: null,
    });
  });

  it('is kept for an idempotent replay without the secret, saying why', () => {
    const kept = JSON.stringify(created.idempotentReplay());
    expect(kept).not.toContain(key);
    expect(JSON.parse(kept)).toMatchObject({
      id: created.id,
      key: null,
      keyRedacted: true,
      prefix,
      redaction: { type: 'https://paygate.dev/problems/secret-not-replayed' },
    });
  });
});
