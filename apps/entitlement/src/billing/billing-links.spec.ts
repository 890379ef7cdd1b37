import { FixedClock } from '@paygate/clock';
import { BillingLinks } from './billing-links';

const config = {
  BILLING_LINK_SECRET: 'a-secret-of-some-length-0123456789',
  ADMIN_TOKEN: 'admin-token-0123456789',
  BILLING_PORTAL_URL_TEMPLATE: 'https://pay.example/billing/{token}',
  BILLING_LINK_TTL_SECONDS: 3600,
};

describe('billing links', () => {
  const clock = new FixedClock(new Date('2026-11-25T10:00:00Z'));
  const links = new BillingLinks(config, clock);
  const customerId = '6f1c1a52-7d5e-4a8e-9a37-0c3f3b1f2a10';

  it('opens the page of the customer it was made for, with the reason', () => {
    const link = links.linkFor(customerId, 'insufficient-credits');
    expect(link).toMatch(/^https:\/\/pay\.example\/billing\/[\w-]+\.[\w-]+$/);
    expect(link).not.toContain(customerId);
    const token = link.split('/').pop()!;
    expect(links.verify(token)).toEqual({ customerId, code: 'insufficient-credits' });
    const withCost = links.linkFor(customerId, 'insufficient-credits', 3).split('/').pop()!;
    expect(links.verify(withCost)).toEqual({
      customerId,
      code: 'insufficient-credits',
      required: 3,
    });
  });

  it('refuses a changed, foreign or expired token', () => {
    const token = links.tokenFor({ customerId, code: 'quota-exhausted' });
    const [payload, signature] = token.split('.');
    // Another customer's id in a copied payload: the signature no longer fits.
    const bytes = Buffer.from(payload, 'base64url');
    bytes[1] ^= 0xff;
    const forged = bytes.toString('base64url');
    expect(links.verify(`${forged}.${signature}`)).toBeUndefined();
    expect(links.verify(`${payload}.${signature.slice(1)}x`)).toBeUndefined();
    expect(links.verify('garbage')).toBeUndefined();
    const other = new BillingLinks(
      { ...config, BILLING_LINK_SECRET: 'another-secret-0123456789' },
      clock,
    );
    expect(other.verify(token)).toBeUndefined();
    const later = new BillingLinks(config, new FixedClock(new Date('2026-11-25T11:00:01Z')));
    expect(later.verify(token)).toBeUndefined();
  });

  it('derives a secret from the admin token when none is configured', () => {
    const derived = new BillingLinks({ ...config, BILLING_LINK_SECRET: undefined }, clock);
    const token = derived.tokenFor({ customerId, code: 'subscription-expired' });
    expect(derived.verify(token)?.customerId).toBe(customerId);
    expect(links.verify(token)).toBeUndefined();
  });
});
