/**
 * Sends a Stripe webhook event to the local entitlement service, signed with the endpoint's
 * secret by the `stripe` package's test helper (what Stripe's own tests use), so the Stripe
 * path can be tried without a Stripe account:
 *
 *   npm run stripe:event -- invoice.payment_failed <paygate subscription id>
 *   npm run stripe:event -- invoice.paid <paygate subscription id>
 *
 * ENTITLEMENT_URL (default http://127.0.0.1:3001), STRIPE_WEBHOOK_SECRET (default: the one
 * `npm start` sets). Prints the service's answer ("applied", "duplicate", "stale", ...).
 */
import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';

/** What npm start and compose set (EntitlementConfig's DEV_STRIPE_WEBHOOK_SECRET). */
export const DEV_WEBHOOK_SECRET = 'whsec_paygate_dev_only';

const OBJECTS: Record<string, 'invoice' | 'subscription'> = {
  'invoice.paid': 'invoice',
  'invoice.payment_failed': 'invoice',
  'invoice.payment_action_required': 'invoice',
  'customer.subscription.deleted': 'subscription',
};

async function main(): Promise<void> {
  const [type, subscriptionId] = process.argv.slice(2);
  if (!type || !OBJECTS[type] || !subscriptionId) {
    console.error(
      `usage: npm run stripe:event -- <${Object.keys(OBJECTS).join('|')}> <subscription id>`,
    );
    process.exit(2);
  }
  const now = Math.floor(Date.now() / 1000);
  const metadata = { paygate_subscription_id: subscriptionId };
  const object =
    OBJECTS[type] === 'invoice'
      ? { object: 'invoice', created: now, attempt_count: 1, subscription_details: { metadata } }
      : { object: 'subscription', metadata };
  const body = JSON.stringify({
    id: `evt_local_${randomUUID().replace(/-/g, '')}`,
    object: 'event',
    type,
    created: now,
    data: { object },
  });
  const secret = process.env.STRIPE_WEBHOOK_SECRET ?? DEV_WEBHOOK_SECRET;
  const url = `${process.env.ENTITLEMENT_URL ?? 'http://127.0.0.1:3001'}/v1/webhooks/stripe`;
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'stripe-signature': new Stripe('sk_unused').webhooks.generateTestHeaderString({
        payload: body,
        secret,
      }),
    },
    body,
  });
  console.log(response.status, await response.text());
  if (!response.ok) process.exit(1);
}

if (require.main === module) void main();
