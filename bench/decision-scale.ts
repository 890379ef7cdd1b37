/**
 * bench/decision-scale: the entitlement decision (CheckUseCase with a credit reservation, as
 * bench/decision) against a database holding 100,000 customers and 1,000,000 API keys, with the
 * requests spread over 10, 10,000 and 100,000 active customers (BENCH_SCALE_CUSTOMERS to
 * choose): decisions per second and p50/p99 next to the SELECT 1 baseline measured in the same
 * run, the database's and the api_keys/customers tables' sizes, and this process's RSS and heap.
 *
 * Its own database (paygate_bench_scale; DATABASE_URL_SCALE to change), seeded once with SQL:
 * one customer made through the services (customer, active subscription to the bench plan,
 * a grant of 1e9 credits: grants, balances and ledger rows), copied to BENCH_SCALE_SEED
 * customers (default 100,000), and 10 keys each, `pg_live_scale_<customer>_<n>` stored as the
 * app stores keys (SHA-256 hex). A database seeded at another size is dropped and seeded again.
 *   node dist/bench/decision-scale.js   (npm run bench runs it)
 */
import 'reflect-metadata';
import { SystemClock } from '@paygate/clock';
import { migrate } from '@paygate/database';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { entitlementDataSource } from '../apps/entitlement/src/database/entitlement.data-source';
import { tables } from '../apps/entitlement/src/database/schema';
import { decisionReads } from '../apps/entitlement/src/decisions/decision-reads.repository';
import {
  EntitlementServices,
  createEntitlementServices,
} from '../apps/entitlement/src/entitlement.services';
import { createDatabaseIfMissing } from '../scripts/setup';
import { CONCURRENCY, DURATION_MS, createRequestsPlan, fmt, measure } from './decision';

const SCALE_URL =
  process.env.DATABASE_URL_SCALE ?? 'postgres://postgres@127.0.0.1:5432/paygate_bench_scale';
const SEED = Number(process.env.BENCH_SCALE_SEED ?? 100_000);
const KEYS_PER_CUSTOMER = 10;
const ACTIVE = (process.env.BENCH_SCALE_CUSTOMERS ?? '10,10000,100000').split(',').map(Number);
// The gateway asks for cost plus its recent demand on the key (LeasePool.refill); with keys drawn
// at random from thousands, a key's recent demand is ~0: it asks for the cost.
const LEASE_UNITS = Number(process.env.BENCH_SCALE_LEASE_UNITS ?? 1);
const PLAN_KEY = 'bench-scale';

/** Key n (1..10) of customer c (1..SEED). */
const keyOf = (c: number, n: number) => `pg_live_scale_${c}_${n}`;
const customerId = (c: string) => `md5('paygate-bench-scale:' || ${c})::uuid`;

const seconds = (since: bigint) => (Number(process.hrtime.bigint() - since) / 1e9).toFixed(1);
const mb = (bytes: number | string) => `${(Number(bytes) / 2 ** 20).toFixed(0)} MB`;

/** Whether the database holds exactly the wanted seed; drops it when it holds another one. */
async function seeded(url: string): Promise<boolean> {
  await createDatabaseIfMissing(url);
  const client = new Client({ connectionString: url });
  await client.connect();
  let state: { customers: number; keys: number } | undefined;
  try {
    const [row] = (
      await client.query(`SELECT
        (SELECT count(*) FROM ${tables.customers} WHERE "name" LIKE 'scale %')::int AS customers,
        (SELECT count(*) FROM ${tables.api_keys})::int AS keys`)
    ).rows as { customers: number; keys: number }[];
    state = row;
  } catch {
    state = undefined; // not migrated yet: nothing seeded
  } finally {
    await client.end();
  }
  if (state && state.customers === SEED && state.keys === SEED * KEYS_PER_CUSTOMER) return true;
  if (state && (state.customers > 0 || state.keys > 0)) {
    console.log(`[seed] found ${state.customers} customers, ${state.keys} keys: seeding again`);
    const target = new URL(url);
    const admin = new URL(url);
    admin.pathname = '/postgres';
    const c = new Client({ connectionString: admin.toString() });
    await c.connect();
    try {
      await c.query(`DROP DATABASE "${decodeURIComponent(target.pathname.slice(1))}" WITH (FORCE)`);
    } finally {
      await c.end();
    }
    await createDatabaseIfMissing(url);
  }
  return false;
}

/** Copies customer 1's rows of a table to customers 2..SEED (all columns but `set`'s). */
async function copyRows(
  dataSource: DataSource,
  table: keyof typeof tables,
  template: string,
  set: Record<string, string>,
  where = `"customer_id" = $1`,
): Promise<void> {
  const columns: { column_name: string }[] = await dataSource.query(
    `SELECT column_name FROM information_schema.columns
     WHERE table_schema = 'entitlement' AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  const names = columns.map((c) => c.column_name);
  const list = names.map((n) => `"${n}"`).join(', ');
  const values = names.map((n) => set[n] ?? `t."${n}"`).join(', ');
  await dataSource.query(
    `INSERT INTO ${tables[table]} (${list})
     SELECT ${values} FROM ${tables[table]} t, generate_series(2, ${SEED}) AS s(c)
     WHERE t.${where}`,
    [template],
  );
}

async function seed(dataSource: DataSource, services: EntitlementServices): Promise<void> {
  const started = process.hrtime.bigint();
  // Customer 1 the way the app makes one; the others are copies of its rows.
  const plan = await createRequestsPlan(services, PLAN_KEY);
  const first = await services.customers.create({ name: 'scale 1' });
  await services.subscriptions.create(first.id, { planId: plan.id });
  await services.credits.grant(first.id, { amount: 1e9 });
  await dataSource.query(`SET synchronous_commit = off`);
  const id = customerId('s.c');
  const grantId = `md5('paygate-bench-scale-grant:' || s.c)::uuid`;
  await copyRows(dataSource, 'customers', first.id, { id, name: `'scale ' || s.c` }, `"id" = $1`);
  await copyRows(dataSource, 'subscriptions', first.id, {
    id: `gen_random_uuid()`,
    customer_id: id,
  });
  await copyRows(dataSource, 'grants', first.id, {
    id: grantId,
    customer_id: id,
    idempotency_key: `'grant:bench-scale:' || s.c`,
  });
  await copyRows(dataSource, 'balances', first.id, { customer_id: id });
  // The grant's ledger entry is keyed by its grant (GrantsService.activate).
  await copyRows(dataSource, 'ledger_entries', first.id, {
    id: `nextval(pg_get_serial_sequence('${tables.ledger_entries}', 'id'))`,
    customer_id: id,
    idempotency_key: `'grant:' || ${grantId}`,
  });
  console.log(`[seed] ${SEED} customers, subscriptions, grants in ${seconds(started)} s`);
  const keysStarted = process.hrtime.bigint();
  for (let n = 1; n <= KEYS_PER_CUSTOMER; n++) {
    await dataSource.query(
      `INSERT INTO ${tables.api_keys} ("customer_id", "prefix", "key_hash", "scopes")
       SELECT c."id", left(k.key, 14), encode(sha256(convert_to(k.key, 'UTF8')), 'hex'), '{}'
       FROM ${tables.customers} c,
         LATERAL (SELECT 'pg_live_scale_' || split_part(c."name", ' ', 2) || '_${n}' AS key) k
       WHERE c."name" LIKE 'scale %'`,
    );
  }
  console.log(
    `[seed] ${SEED * KEYS_PER_CUSTOMER} api keys in ${seconds(keysStarted)} s; analyzing`,
  );
  await dataSource.query(`ANALYZE`);
  console.log(`[seed] done in ${seconds(started)} s`);
}

interface Sizes {
  database: string;
  api_keys: string;
  api_keys_indexes: string;
  customers: string;
  customers_indexes: string;
}

const sizes = async (dataSource: DataSource): Promise<Sizes> =>
  (
    await dataSource.query(`SELECT pg_database_size(current_database()) AS database,
      pg_table_size('${tables.api_keys}') AS api_keys,
      pg_indexes_size('${tables.api_keys}') AS api_keys_indexes,
      pg_table_size('${tables.customers}') AS customers,
      pg_indexes_size('${tables.customers}') AS customers_indexes`)
  )[0] as Sizes;

async function main(): Promise<void> {
  if (ACTIVE.some((n) => !(n >= 1 && n <= SEED)))
    throw new Error(`BENCH_SCALE_CUSTOMERS must be within 1..${SEED}`);
  const ready = await seeded(SCALE_URL);
  const dataSource = await entitlementDataSource(SCALE_URL, CONCURRENCY).initialize();
  for (const name of await migrate(dataSource)) console.log(`[setup] applied migration ${name}`);
  try {
    const services = createEntitlementServices(dataSource, new SystemClock());
    if (ready) console.log(`[seed] ${SEED} customers and their keys already seeded: skipped`);
    else await seed(dataSource, services);

    const check = services.check;
    const decide = (c: number, n: number) =>
      check.execute({
        apiKey: keyOf(c, n),
        feature: 'requests',
        cost: 1,
        leaseUnits: LEASE_UNITS,
        requestId: randomUUID(),
        requiredScopes: [],
      });
    for (const c of [1, SEED]) {
      const decision = await decide(c, KEYS_PER_CUSTOMER);
      if (!decision.allowed)
        throw new Error(
          `seeded key ${keyOf(c, KEYS_PER_CUSTOMER)} refused: ${JSON.stringify(decision)}`,
        );
    }
    const plan: { rows: string }[] = await dataSource.query(`EXPLAIN ${decisionReads.forKeySql}`, [
      '0'.repeat(64),
      'requests',
    ]);
    console.log('key lookup (decisionReads.forKey: key, customer, subscription, terms):');
    for (const line of plan) console.log(`  ${Object.values(line)[0]}`);

    const db = await sizes(dataSource);
    console.log(
      `database ${mb(db.database)}; api_keys ${mb(db.api_keys)} + indexes ` +
        `${mb(db.api_keys_indexes)}; customers ${mb(db.customers)} + indexes ` +
        `${mb(db.customers_indexes)}`,
    );
    console.log(
      `concurrency ${CONCURRENCY}, ${DURATION_MS} ms each, ${SEED} customers, ` +
        `${SEED * KEYS_PER_CUSTOMER} keys, cost 1, leaseUnits ${LEASE_UNITS}, a random key of a ` +
        `random customer among the first N`,
    );
    const rows: string[] = [];
    for (const active of ACTIVE) {
      const baseline = await measure(() => dataSource.query('SELECT 1'));
      const cpu = process.cpuUsage();
      const decision = await measure(() =>
        decide(1 + Math.floor(Math.random() * active), 1 + Math.floor(Math.random() * 10)).then(
          (d) => {
            if (!d.allowed) throw new Error(`refused: ${JSON.stringify(d)}`);
          },
        ),
      );
      const spent = process.cpuUsage(cpu);
      // This process's CPU per decision (the services' code, TypeORM, pg); Postgres' is not in it.
      const cpuPer = (spent.user + spent.system) / decision.ops;
      const memory = process.memoryUsage();
      const after = await sizes(dataSource);
      console.log(`N = ${active} active customers`);
      console.log(`  baseline  SELECT 1        ${fmt(baseline)}`);
      console.log(`  decision  Check+reserve   ${fmt(decision)}`);
      console.log(
        `  ratio ${(decision.perSecond / baseline.perSecond).toFixed(3)}; ` +
          `bench CPU ${cpuPer.toFixed(0)} µs/decision; rss ` +
          `${mb(memory.rss)}, heap ${mb(memory.heapUsed)}; database ${mb(after.database)}`,
      );
      rows.push(
        `| ${String(active).padStart(7)} | ${decision.perSecond.toFixed(0).padStart(6)} | ` +
          `${decision.p50.toFixed(2).padStart(6)} | ${decision.p99.toFixed(2).padStart(6)} | ` +
          `${baseline.perSecond.toFixed(0).padStart(6)} | ` +
          `${(decision.perSecond / baseline.perSecond).toFixed(3)} | ` +
          `${cpuPer.toFixed(0).padStart(6)} | ` +
          `${mb(memory.rss).padStart(6)} | ${mb(memory.heapUsed).padStart(6)} |`,
      );
    }
    console.log('');
    console.log(
      '| active  | dec/s  | p50 ms | p99 ms | SEL1/s | ratio | CPU µs | rss    | heap   |',
    );
    console.log(
      '|---------|--------|--------|--------|--------|-------|--------|--------|--------|',
    );
    for (const row of rows) console.log(row);
  } finally {
    await dataSource.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
