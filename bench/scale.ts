/**
 * bench/scale: what the gateway's in-memory state costs as the number of active keys grows
 * (10, 10,000, 100,000 and 1,000,000 keys; BENCH_SCALE_KEYS to choose). For each size, in
 * this process: the lease pool (apps/gateway/src/leases/lease-pool.ts, the gateway's own code)
 * holding a lease for every key, answered at once by an in-memory stand-in for the entitlement
 * service (so this measures the pool, not the network or Postgres), and
 *   - heap per active key once every key holds a lease (after a full GC);
 *   - admissions per second with keys drawn at random, next to the baseline measured in the same
 *     run: a plain Map lookup of the same keys (the cheapest in-memory state there can be),
 *     and the key hashing every request pays (apiKeyId: SHA-256);
 *   - what giving units back to a lease (an upstream failure), dropping a customer's leases
 *     (an entitlement change) and a sweep with nothing due (every 250 ms) cost with that many
 *     keys held.
 *   node --expose-gc dist/bench/scale.js   (npm run bench runs it)
 */
import 'reflect-metadata';
import type { CheckRequest, CheckResponse } from '@paygate/contracts';
import { randomUUID } from 'node:crypto';
import { apiKeyId } from '../apps/gateway/src/auth/api-key';
import { LeasePool, type LeaseCalls } from '../apps/gateway/src/leases/lease-pool';

const SIZES = (process.env.BENCH_SCALE_KEYS ?? '10,10000,100000,1000000').split(',').map(Number);
const OPS = Number(process.env.BENCH_SCALE_OPS ?? 300_000);

/** Grants every Check at once with the lease it asks for (as a customer with ample credits). */
const instantService = (): LeaseCalls => ({
  check: (request: CheckRequest): Promise<CheckResponse> =>
    Promise.resolve({
      allowed: true,
      // One customer per key, as the same key always answers.
      customerId: request.apiKey,
      leaseId: randomUUID(),
      plan: 'bench',
      warnings: [],
      leaseUnits: request.leaseUnits || request.cost,
    }),
  release: () => Promise.resolve(),
  close: () => Promise.resolve(),
});

const gc = () => (global as { gc?: () => void }).gc?.();
const heapUsed = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

/** One request of cost 1 of the k-th key (its id computed once, as the gateway does). */
const admitOne = (pool: LeasePool, keys: string[], keyIds: string[], k: number) =>
  pool.admit({
    apiKey: keys[k],
    keyId: keyIds[k],
    feature: 'requests',
    cost: 1,
    requestId: '',
    requiredScopes: [],
  });

async function admissionsPerSecond(pool: LeasePool, keys: string[], keyIds: string[]) {
  const started = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) {
    const k = (Math.random() * keys.length) | 0;
    const answer = await admitOne(pool, keys, keyIds, k);
    if (!answer.allowed) throw new Error('refused');
  }
  return OPS / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function microseconds(op: () => Promise<unknown>, n: number): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await op();
  return Number(process.hrtime.bigint() - started) / 1e3 / n;
}

function perSecond(op: (i: number) => unknown, n: number): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) op(i);
  return n / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function main(): Promise<void> {
  if (!(global as { gc?: unknown }).gc)
    console.log('  (run with --expose-gc for exact heap figures)');
  console.log(
    `bench/scale: the gateway's lease pool with N active keys (each holding a lease), ${OPS} admissions per size`,
  );
  for (const size of SIZES) {
    const keys = Array.from({ length: size }, () => `pk_bench_${randomUUID()}`);
    const keyIds = keys.map(apiKeyId);
    const before = heapUsed();
    const pool = new LeasePool(instantService(), {
      maxUnits: 1000,
      aheadMs: 1000,
      idleMs: 3_600_000,
      maxAgeMs: 3_600_000,
      renewAtShare: 0.25,
    });
    for (let k = 0; k < size; k++) {
      await admitOne(pool, keys, keyIds, k);
    }
    const perKey = (heapUsed() - before) / size;
    const admitted = await admissionsPerSecond(pool, keys, keyIds);
    // What an upstream failure (units back to their lease) and an entitlement change (a
    // customer's leases dropped) cost with this many keys held.
    const leaseOf = await admitOne(pool, keys, keyIds, 0);
    const giveBackUs = await microseconds(() => pool.giveBack(leaseOf, 1, 'bench'), 200);
    const forgetUs = await microseconds(() => pool.forgetCustomer(randomUUID(), 'bench'), 20);
    // The gateway sweeps its pool every 250 ms (idle leases back) and reports the units held.
    const sweepUs = await microseconds(async () => {
      await pool.sweep();
      pool.heldUnits();
    }, 5);
    const map = new Map(keyIds.map((id) => [id, id.length]));
    const lookups = perSecond(() => map.get(keyIds[(Math.random() * size) | 0]), OPS * 10);
    const hashes = perSecond((i) => apiKeyId(keys[i % size]), Math.min(OPS, 200_000));
    console.log(
      `  ${String(size).padStart(9)} keys: ` +
        // A few keys weigh less than what a GC leaves or takes meanwhile.
        (size >= 1000
          ? `heap ${(perKey / 1024).toFixed(2)} KiB per active key (${((perKey * size) / 2 ** 20).toFixed(0)} MiB in all); `
          : 'heap: too few keys to weigh; ') +
        `${admitted.toFixed(0)} admissions/s ` +
        `(${(1e6 / admitted).toFixed(2)} µs each); baseline Map lookup ${(1e6 / lookups).toFixed(3)} µs, ` +
        `key hashing ${(1e6 / hashes).toFixed(2)} µs; admission / lookup ${(lookups / admitted).toFixed(0)} ×; ` +
        `units back to a lease ${giveBackUs.toFixed(1)} µs, a customer's change ${forgetUs.toFixed(1)} µs, ` +
        `a sweep with nothing due ${(sweepUs / 1000).toFixed(2)} ms`,
    );
    await pool.releaseAll('bench done');
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
