/**
 * bench/decision: throughput and latency of the entitlement decision (CheckUseCase with a
 * credit reservation) against the real Postgres, next to a baseline measured in the same run:
 * the cheapest possible query (SELECT 1) at the same concurrency. Prints both and the ratio.
 *   npm run bench   (DATABASE_URL, default the local paygate_bench database)
 */
import 'reflect-metadata';
import { SystemClock } from '@paygate/clock';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { entitlementDataSource } from '../apps/entitlement/src/database/entitlement.data-source';
import { tables } from '../apps/entitlement/src/database/schema';
import {
  EntitlementServices,
  createEntitlementServices,
} from '../apps/entitlement/src/entitlement.services';

export const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
export const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 5000);

export interface Result {
  ops: number;
  perSecond: number;
  p50: number;
  p99: number;
}

export async function measure(op: () => Promise<unknown>): Promise<Result> {
  const latencies: number[] = [];
  const end = Date.now() + DURATION_MS;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < end) {
        const t = process.hrtime.bigint();
        await op();
        latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return {
    ops: latencies.length,
    perSecond: latencies.length / seconds,
    p50: at(0.5),
    p99: at(0.99),
  };
}

/** The bench plan: one metered feature, `requests`, on credits at 1 credit a unit. */
export function createRequestsPlan(services: EntitlementServices, key: string) {
  return services.plans.create({
    key,
    name: 'Bench',
    features: [
      {
        key: 'requests',
        kind: 'metered',
        meterKey: 'api_requests',
        limitPolicy: 'credits',
        unitPrice: 1,
      },
    ],
  });
}

async function seed(
  services: EntitlementServices,
): Promise<{ apiKey: string; customerId: string }> {
  const plan = await createRequestsPlan(services, `bench-${randomUUID().slice(0, 8)}`);
  const customer = await services.customers.create({ name: 'Bench customer' });
  await services.subscriptions.create(customer.id, { planId: plan.id });
  await services.credits.grant(customer.id, { amount: 1e12 });
  return { apiKey: (await services.apiKeys.create(customer.id, {})).key, customerId: customer.id };
}

/**
 * Gives back the leases the run reserved, as a gateway would close its own. Left held, they
 * would expire LEASE_TTL_SECONDS later in whichever entitlement service then runs on this
 * database, and a bench/gateway run in that window would count the sweep as its pipeline's
 * cost (seen: 10,000 leases released during one, 15 minutes after bench/decision).
 */
async function releaseLeases(
  dataSource: DataSource,
  services: EntitlementServices,
  customerId: string,
): Promise<number> {
  const held: { id: string }[] = await dataSource.query(
    `SELECT "id" FROM ${tables.leases} WHERE "customer_id" = $1 AND "status" = 'held'`,
    [customerId],
  );
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < held.length) {
        const { id } = held[next++];
        await dataSource.transaction((m) => services.settlement.release(m, id, 'bench done'));
      }
    }),
  );
  return held.length;
}

export const fmt = (r: Result) =>
  `${r.perSecond.toFixed(0).padStart(7)} ops/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  (${r.ops} ops)`;

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/paygate_bench';
  const dataSource = await entitlementDataSource(url, CONCURRENCY).initialize();
  try {
    const services = createEntitlementServices(dataSource, new SystemClock());
    const { apiKey, customerId } = await seed(services);
    const check = services.check;
    const baseline = await measure(() => dataSource.query('SELECT 1'));
    const decision = await measure(() =>
      check.execute({
        apiKey,
        feature: 'requests',
        cost: 1,
        requestId: randomUUID(),
        requiredScopes: [],
      }),
    );
    console.log(`concurrency ${CONCURRENCY}, ${DURATION_MS} ms each, one customer (hot rows)`);
    console.log(`baseline  SELECT 1        ${fmt(baseline)}`);
    console.log(`decision  Check+reserve   ${fmt(decision)}`);
    console.log(
      `ratio     decision/baseline throughput ${(decision.perSecond / baseline.perSecond).toFixed(3)}`,
    );
    console.log(
      `(gave back the run's ${await releaseLeases(dataSource, services, customerId)} leases)`,
    );
  } finally {
    await dataSource.destroy();
  }
}

// Run, not when bench/decision-scale imports the helpers above.
if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
