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

  it('binds a form token to its billing link: UUID-shaped, made here, not made up', () => {
    const token = links.tokenFor({ customerId, code: 'insufficient-credits' });
    const form = links.formToken(token);
    expect(form).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(links.formToken(token)).not.toBe(form);
    expect(links.verifyFormToken(token, form)).toBe(true);
    // A made-up nonce (what a cross-site form would send), another link's, another secret's.
    expect(links.verifyFormToken(token, '2b1e7f0c-3d4a-4b5c-8d6e-7f8091a2b3c4')).toBe(false);
    const otherLink = links.tokenFor({ customerId, code: 'quota-exhausted', required: 2 });
    expect(links.verifyFormToken(otherLink, form)).toBe(false);
    const other = new BillingLinks({ ...config, BILLING_LINK_SECRET: 'another-0123456789' }, clock);
    expect(other.verifyFormToken(token, form)).toBe(false);
    const flipped = form.slice(0, -1) + (form.endsWith('0') ? '1' : '0');
    expect(links.verifyFormToken(token, flipped)).toBe(false);
    expect(links.verifyFormToken(token, 'not-a-uuid')).toBe(false);
  });
});
