import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startDemoUpstream } from '../scripts/demo-upstream';
import { seedDemoCustomer } from '../scripts/seed-demo';
import { ADMIN_TOKEN, ARTIFACTS, Stack } from './support/stack';

const SHOTS = join(ARTIFACTS, 'screenshots');

/**
 * The customer's side in a real browser (Debian's headless Chromium): the demo app calls the
 * API through the client library, gets blocked, opens the 402's link, tops up on the billing
 * page, and gets through. Screenshots go to test-artifacts/screenshots/.
 */
describe('customer journey in headless Chromium (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 14201,
      entitlementGrpc: 16251,
      metering: 14202,
      gateway: 19280,
      upstream: 15200,
    },
    'browser-',
  );
  let upstream: { server: Server; hits: () => number };
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    upstream = await startDemoUpstream(stack.ports.upstream);
    await stack.start(['entitlement', 'metering', 'gateway'], {
      BILLING_PORTAL_URL_TEMPLATE: `http://127.0.0.1:${stack.ports.entitlementHttp}/billing/{token}`,
      BILLING_PAYMENT_PROVIDER: 'demo',
      DEMO_APP_DIR: 'dist/demo/spa',
    });
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      // Root in CI containers: Chromium's sandbox needs user namespaces it may not have there.
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stack.stop();
    await new Promise((resolve) => upstream?.server.close(resolve));
  });

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  it('gets blocked, opens the link, tops up, and gets through', async () => {
    const customer = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 1, 'Browser Co');
    const context = await browser.newContext({ locale: 'de-DE' });
    const page = await context.newPage();
    const app = `${stack.url('gateway')}/_paygate/demo/?key=${encodeURIComponent(customer.apiKey)}`;
    await page.goto(app);

    await page.click('#call');
    await page.locator('#result').waitFor({ state: 'visible' });
    expect(await page.textContent('#result')).toContain('Hello from the demo upstream');
    await shot(page, '1-served');

    await page.click('#call');
    await page.locator('#problem').waitFor({ state: 'visible' });
    expect(await page.textContent('#problem-title')).toBe('Guthaben nicht ausreichend');
    await shot(page, '2-blocked');

    await page.click('#fix');
    await page.waitForURL(/\/billing\//);
    expect(await page.getAttribute('[data-testid="reason"]', 'data-code')).toBe(
      'insufficient-credits',
    );
    expect(await page.textContent('[data-testid="balance"]')).toBe('0');
    await shot(page, '3-billing-page');

    await page.fill('input[name="credits"]', '10');
    await page.click('[data-testid="top-up"]');
    await page.locator('[data-testid="notice"]').waitFor({ state: 'visible' });
    expect(await page.textContent('[data-testid="balance"]')).toBe('10');
    await shot(page, '4-topped-up');

    await page.goto(app);
    await page.click('#call');
    await page.locator('#result').waitFor({ state: 'visible' });
    expect(await page.textContent('#result')).toContain('Hello from the demo upstream');
    expect(await page.isHidden('#problem')).toBe(true);
    await shot(page, '5-through-again');
    await context.close();
  }, 120_000);
});
