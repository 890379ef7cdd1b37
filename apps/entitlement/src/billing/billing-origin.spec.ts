import { isSameOrigin } from './billing.controller';

const template = 'https://billing.example.com/billing/{token}';

describe('billing form posts come from the billing page', () => {
  it.each([
    [{ host: '127.0.0.1:3001', origin: 'http://127.0.0.1:3001' }],
    [{ host: 'billing.example.com', origin: 'https://billing.example.com' }],
    // Behind a proxy that rewrites Host: the configured page origin.
    [{ host: 'entitlement:3001', origin: 'https://billing.example.com' }],
    [{ host: '127.0.0.1:3001', 'sec-fetch-site': 'same-origin', origin: 'http://127.0.0.1:3001' }],
    // A browser on this page (Referrer-Policy: no-referrer makes its Origin "null").
    [{ host: '127.0.0.1:3001', 'sec-fetch-site': 'same-origin', origin: 'null' }],
    // No browser: nothing ambient to abuse; the form token still has to be the page's.
    [{ host: '127.0.0.1:3001' }],
  ])('accepts %p', (headers) => {
    expect(isSameOrigin(headers, template)).toBe(true);
  });

  it.each([
    [{ host: '127.0.0.1:3001', origin: 'https://evil.example' }],
    [{ host: '127.0.0.1:3001', origin: 'http://127.0.0.1:3002' }],
    [{ host: '127.0.0.1:3001', origin: 'null' }],
    [{ host: '127.0.0.1:3001', 'sec-fetch-site': 'cross-site', origin: 'null' }],
    [{ host: '127.0.0.1:3001', 'sec-fetch-site': 'cross-site' }],
    [{ host: '127.0.0.1:3001', 'sec-fetch-site': 'same-site', origin: 'http://127.0.0.1:3001' }],
    [{ origin: 'http://127.0.0.1:3001' }],
  ])('refuses %p', (headers) => {
    expect(isSameOrigin(headers, template)).toBe(false);
  });
});
