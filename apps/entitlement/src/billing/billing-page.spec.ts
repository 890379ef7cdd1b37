import { renderBillingPage, type BillingPageView } from './billing-page';

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
});
