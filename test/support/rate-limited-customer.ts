import { randomUUID } from 'node:crypto';
import { ADMIN_TOKEN } from './stack';

/** The operator API as the e2e tests call it: JSON in and out, a failure throws. */
export function adminApi(entitlementUrl: string) {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${entitlementUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok)
      throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
}

/**
 * A customer on a plan of its own whose `requests` feature (meter api_requests, 1 credit a
 * request) allows `limit` requests per day-long window (a test cannot straddle its boundary),
 * with `credits` granted and an API key.
 */
export async function rateLimitedCustomer(
  entitlementUrl: string,
  options: { limit: number; credits: number; name: string },
): Promise<{ customerId: string; apiKey: string }> {
  const call = adminApi(entitlementUrl);
  const plan = await call<{ id: string }>('POST', '/v1/plans', {
    key: `limited-${randomUUID().slice(0, 8)}`,
    name: `${options.name} (${options.limit} a day)`,
    features: [
      {
        key: 'requests',
        kind: 'metered',
        meterKey: 'api_requests',
        includedUnits: 0,
        limitPolicy: 'credits',
        unitPrice: 1,
        rateLimitRequests: options.limit,
        rateLimitWindowSeconds: 86_400,
      },
    ],
  });
  const customer = await call<{ id: string }>('POST', '/v1/customers', { name: options.name });
  await call('POST', `/v1/customers/${customer.id}/subscriptions`, {
    planId: plan.id,
    status: 'active',
  });
  await call('POST', `/v1/customers/${customer.id}/grants`, {
    amount: options.credits,
    description: 'e2e',
  });
  const key = await call<{ key: string }>('POST', `/v1/customers/${customer.id}/api-keys`, {
    name: 'e2e',
  });
  return { customerId: customer.id, apiKey: key.key };
}
