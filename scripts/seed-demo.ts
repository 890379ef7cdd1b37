/**
 * Seeds a demo customer through the operator REST API (the way an operator would):
 * a pay-as-you-go plan whose `requests` feature draws 1 credit per request, a customer with
 * an active subscription, a grant of credits and an API key.
 *   node dist/scripts/seed-demo.js   (ENTITLEMENT_URL, ADMIN_TOKEN, DEMO_CREDITS)
 * ENTITLEMENT_URL is the operator API: the entitlement service's OPERATOR_HTTP_PORT, 3011 under
 * npm start and compose (their public 3001 answers it 404).
 */
import { DEMO_PLAN, requestsFeature } from '../apps/entitlement/src/plans/demo-plan';
import type { PlanFeatureDto } from '../apps/entitlement/src/plans/plan.dto';

export interface DemoCustomer {
  customerId: string;
  apiKey: string;
  apiKeyId: string;
  planId: string;
  subscriptionId: string;
}

/**
 * The operator API as a script calls it: JSON in and out, any failure throws with the body.
 * `Content-Type: application/json` goes with a body only: with an empty body (a DELETE's) the
 * API refuses it, 400 "must not be empty" (docs/api.md, Bad input).
 */
export function operatorApi(baseUrl: string, token: string) {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} → ${response.status}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
}

/**
 * The one seed of a plan and a customer, as an operator would make them: a plan (a new version
 * of `plan.key`) selling `requestsFeature(feature)`, a customer with an active subscription to
 * it, `credits` granted (if any) and an API key. The demo and the e2e tests both use it.
 */
export async function seedCustomer(
  baseUrl: string,
  adminToken: string,
  options: {
    credits: number;
    name: string;
    plan?: { key: string; name: string };
    feature?: Partial<PlanFeatureDto>;
    /** A plan made before (by an earlier seed) to subscribe to, instead of a new version. */
    planId?: string;
  },
): Promise<DemoCustomer> {
  const call = operatorApi(baseUrl, adminToken);
  const plan = options.planId
    ? { id: options.planId }
    : await call<{ id: string }>('POST', '/v1/plans', {
        ...(options.plan ?? DEMO_PLAN),
        features: [requestsFeature(options.feature)],
      });
  const customer = await call<{ id: string }>('POST', '/v1/customers', { name: options.name });
  const subscription = await call<{ id: string }>(
    'POST',
    `/v1/customers/${customer.id}/subscriptions`,
    { planId: plan.id, status: 'active' },
  );
  if (options.credits > 0) {
    await call('POST', `/v1/customers/${customer.id}/grants`, {
      amount: options.credits,
      description: 'demo credits',
    });
  }
  const key = await call<{ id: string; key: string }>(
    'POST',
    `/v1/customers/${customer.id}/api-keys`,
    { name: 'demo key' },
  );
  return {
    customerId: customer.id,
    apiKey: key.key,
    apiKeyId: key.id,
    planId: plan.id,
    subscriptionId: subscription.id,
  };
}

/** The demo customer on the demo plan (what `npm start` seeds). */
export function seedDemoCustomer(
  baseUrl: string,
  adminToken: string,
  credits: number,
  name = 'Demo customer',
): Promise<DemoCustomer> {
  return seedCustomer(baseUrl, adminToken, { credits, name });
}

/** What the demo seed reads from its environment (npm start and compose set it). */
export interface SeedDemoSettings {
  /** The operator API, where the seed calls. */
  operatorUrl: string;
  /**
   * The operator API as the printed curl lines reach it: the host's published port when the
   * seed runs in a container (ENTITLEMENT_PRINTED_URL), else operatorUrl.
   */
  printedOperatorUrl: string;
  gatewayUrl: string;
  adminToken: string;
  credits: number;
  /** Print the priced route, in npm start's demo routes only (config/routes.demo.json). */
  payPerCall: boolean;
}

export function seedDemoSettings(env: NodeJS.ProcessEnv): SeedDemoSettings {
  // The operator port of npm start and compose: the operator API is never on the public 3001.
  const operatorUrl = env.ENTITLEMENT_URL ?? 'http://127.0.0.1:3011';
  return {
    operatorUrl,
    printedOperatorUrl: env.ENTITLEMENT_PRINTED_URL ?? operatorUrl,
    gatewayUrl: env.GATEWAY_URL ?? 'http://127.0.0.1:8080',
    adminToken: env.ADMIN_TOKEN ?? '',
    credits: Number(env.DEMO_CREDITS ?? 3),
    payPerCall: env.DEMO_PAY_PER_CALL === 'true',
  };
}

/** The lines printed after seeding: curl commands for a 200, a 402 and the balance. */
export function demoInstructions(demo: DemoCustomer, settings: SeedDemoSettings): string {
  const { gatewayUrl: gateway, credits } = settings;
  const payPerCall = settings.payPerCall
    ? `  # no key, pays per call: 402 with x402 and Payment-scheme offers (a program pays them:
  # npm run example:pay, docs/payments.md)
  curl -i ${gateway}/paid/hello

`
    : '';
  return `
Demo customer ${demo.customerId} has ${credits} credits; each request costs 1.

  # ${credits} times: 200 from the demo upstream
  curl -i ${gateway}/demo/hello -H 'Authorization: Bearer ${demo.apiKey}'

  # then: 402 Payment Required, application/problem+json, code INSUFFICIENT_CREDITS
  curl -i ${gateway}/demo/hello -H 'Authorization: Bearer ${demo.apiKey}'

  # no key: 401
  curl -i ${gateway}/demo/hello

${payPerCall}  # balance (operator API)
  curl -s ${settings.printedOperatorUrl}/v1/customers/${demo.customerId}/balance -H 'Authorization: Bearer ${settings.adminToken}'

  # in a browser: the demo app; once blocked, its "Fix it" opens the billing page (demo payments)
  ${gateway}/_paygate/demo/?key=${demo.apiKey}
`;
}

if (require.main === module) {
  const settings = seedDemoSettings(process.env);
  seedDemoCustomer(settings.operatorUrl, settings.adminToken, settings.credits)
    .then((demo) => console.log(demoInstructions(demo, settings)))
    .catch((err: unknown) => {
      console.error('[seed-demo] failed:', err instanceof Error ? err.message : err);
      process.exit(1);
    });
}
