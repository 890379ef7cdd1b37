import { createHash } from 'node:crypto';
import { BILLING_PAGE_CSP, renderBillingPage, type BillingPageView } from './billing-page';

const view = (over: Partial<BillingPageView> = {}): BillingPageView => ({
  language: 'en',
  customer: { name: '<script>alert(1)</script>', email: null },
  code: 'quota-exhausted',
  plan: 'starter',
  subscriptionStatus: 'active',
  balance: 0,
  usage: [
    {
      feature: 'requests',
      meterKey: 'api_requests',
      usagePeriod: 'billing',
      limitPolicy: 'block',
      included: 100,
      used: 100,
      windowStart: '2026-11-01T00:00:00.000Z',
      resetsAt: '2026-12-01T00:00:00.000Z',
    },
  ],
  actions: { topUp: false, settlePayment: false, upgrades: [], manage: false },
  basePath: '/billing/t.k',
  formToken: '0f4c9a1e-5b2d-4c3e-8f7a-6b5c4d3e2f10',
  ...over,
});

describe('billing page', () => {
  it('explains the refusal with the numbers and escapes what customers can name', () => {
    const html = renderBillingPage(view());
    expect(html).toContain('You have used 100 of the 100 units of requests included in starter.');
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toMatch(/<script/);
    expect(html).toContain('Payments are not set up here');
  });

  it("shows the provider's actions, in the page's language", () => {
    const html = renderBillingPage(
      view({
        language: 'fr',
        actions: {
          topUp: true,
          settlePayment: true,
          upgrades: [{ key: 'pro', name: 'Pro' }],
          manage: true,
        },
      }),
    );
    expect(html).toContain('lang="fr"');
    expect(html).toContain('Quota épuisé');
    for (const action of ['top-up', 'pay', 'plan', 'manage'])
      expect(html).toContain(`action="/billing/t.k/${action}"`);
    expect(html).toContain('Recharger des crédits');
  });

  it('runs no script and loads only its own stylesheet, allowed by hash in its CSP', () => {
    const html = renderBillingPage(view({ actions: { ...view().actions, topUp: true } }));
    expect(html).not.toMatch(/<script|\son\w+=|javascript:/i);
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]);
    expect(styles).toHaveLength(1);
    const hash = createHash('sha256').update(styles[0]).digest('base64');
    expect(BILLING_PAGE_CSP).toContain(`style-src 'sha256-${hash}'`);
    expect(BILLING_PAGE_CSP).toContain("default-src 'none'");
    expect(BILLING_PAGE_CSP).toContain("frame-ancestors 'none'");
    expect(BILLING_PAGE_CSP).not.toContain('unsafe-inline');
    expect(html).toContain('name="nonce" value="0f4c9a1e-5b2d-4c3e-8f7a-6b5c4d3e2f10"');
  });

  it('fills the reason without the members the link lacks (no "{")', () => {
    const html = renderBillingPage(
      view({ code: 'feature-not-in-plan', plan: null, usage: [], required: undefined }),
    );
    expect(html).toContain('This feature is not part of your plan. Upgrade to use it.');
    expect(html).not.toMatch(/\{\w+\}/);
  });
});
