import { randomUUID } from 'node:crypto';
import { operatorApi, seedCustomer } from '../../scripts/seed-demo';
import { ADMIN_TOKEN } from './stack';

/** The operator API as the e2e tests call it: JSON in and out, a failure throws. */
export const adminApi = (entitlementUrl: string) => operatorApi(entitlementUrl, ADMIN_TOKEN);

/**
 * A customer on a plan of its own whose `requests` feature (meter api_requests, 1 credit a
 * request) allows `limit` requests per day-long window (a test cannot straddle its boundary),
 * with `credits` granted and an API key.
 */
export async function rateLimitedCustomer(
  entitlementUrl: string,
  options: { limit: number; credits: number; name: string },
): Promise<{ customerId: string; apiKey: string }> {
  const { customerId, apiKey } = await seedCustomer(entitlementUrl, ADMIN_TOKEN, {
    credits: options.credits,
    name: options.name,
    plan: {
      key: `limited-${randomUUID().slice(0, 8)}`,
      name: `${options.name} (${options.limit} a day)`,
    },
    feature: { rateLimitRequests: options.limit, rateLimitWindowSeconds: 86_400 },
  });
  return { customerId, apiKey };
}
