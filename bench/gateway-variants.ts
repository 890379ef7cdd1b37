/**
 * bench/gateway-variants: the gateway's CPU per request under variants of its environment (or
 * of its build), side by side in one run. One entitlement and one metering service and the
 * demo upstream stay up; each variant's gateway is started in turn, warmed up, and sent a fixed
 * rate (not wrk's saturating load, whose throughput moves with everything else on the machine),
 * and the CPU it used is divided by the requests sent. Variants alternate for
 * BENCH_VARIANTS_ROUNDS rounds, so drift of the machine falls on all of them alike; the median
 * is printed with every round. The gateway's stdout is a pipe this process reads, as a log
 * shipper's would be. Next to the gateway's own CPU per request, each round prints what the
 * pipeline behind it spent per request (entitlement, metering, Kafka, Postgres): a variant
 * such as USAGE_AGGREGATE_MS or LEASE_MAX_UNITS moves that, not the gateway's.
 *   node dist/bench/gateway-variants.js '[{"name":"warn","env":{}},
 *     {"name":"access log","env":{"LOG_LEVEL":"info"}},{"name":"other build","root":"/path"}]'
 *   A variant's `nodeArgs` go to its node, e.g. `["--cpu-prof","--cpu-prof-dir=/tmp/prof"]`;
 *   BENCH_PIPELINE_NODE_ARGS (space-separated) go to the entitlement and metering services'.
 *   (BENCH_VARIANTS_RATE 3000/s, BENCH_VARIANTS_SECONDS 10, BENCH_VARIANTS_ROUNDS 3,
 *    DATABASE_URL, KAFKA_BROKERS, KAFKA_PREFIX; `root`: a checkout whose dist/ runs that gateway)
 * BENCH_VARIANTS_KEYS (1) spreads the rate over that many customers, a key each, in turn: each
 * key then sends a request every KEYS / RATE seconds, e.g. 3,000 keys at 300/s one every 10 s,
 * what many quiet customers cost next to one busy one (lease requests and closes per request
 * are printed with each round).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DemoCustomer, seedCustomer, seedDemoCustomer } from '../scripts/seed-demo';
import { skipBacklog } from './support/consumer-groups';
import { type ProcessGroups, cpuPerUnit, measureCpu, pidsMatching } from './support/cpu';
import { gatewayStats } from './support/gateway-stats';
import { paced } from './support/paced';
import {
  BENCH_ADMIN_TOKEN,
  startService,
  stopProcess,
  waitReady,
  writeDemoRoutes,
} from './support/processes';

interface Variant {
  name: string;
  env?: Record<string, string>;
  /** Another checkout (its dist/ built) whose gateway this variant runs. */
  root?: string;
  /** Node's own options for this variant's gateway, e.g. `["--cpu-prof"]` (not NODE_OPTIONS). */
  nodeArgs?: string[];
  /** Environment of this variant's entitlement and metering services, e.g. FETCH_MAX_WAIT_MS. */
  pipelineEnv?: Record<string, string>;
  /** Another checkout (its dist/ built) whose entitlement and metering this variant runs. */
  pipelineRoot?: string;
}

/** The entitlement and metering services behind the gateway. */
interface Pipeline {
  entitlement: ChildProcess;
  metering: ChildProcess;
}

const RATE = Number(process.env.BENCH_VARIANTS_RATE ?? 3000);
const SECONDS = Number(process.env.BENCH_VARIANTS_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_VARIANTS_ROUNDS ?? 3);
const KEYS = Number(process.env.BENCH_VARIANTS_KEYS ?? 1);
/** Customers seeded at once (each is four operator API calls). */
const SEED_CONCURRENCY = 8;
const WARM_UP_SECONDS = 3;
const PIPELINE_NODE_ARGS = (process.env.BENCH_PIPELINE_NODE_ARGS ?? '').split(' ').filter(Boolean);
const PORTS = { upstream: 15950, entitlement: 15951, metering: 15952, gateway: 15953, grpc: 15960 };
const common = {
  DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/paygate_bench',
  KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
};

/** User plus system CPU of a process so far, in seconds (/proc: clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function startGateway(variant: Variant, routes: string): ChildProcess {
  const main = join(variant.root ?? join(__dirname, '..', '..'), 'dist/apps/gateway/src/main.js');
  const child = spawn(process.execPath, [...(variant.nodeArgs ?? []), main], {
    env: {
      ...process.env,
      ...common,
      LOG_LEVEL: 'warn',
      ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
      HTTP_PORT: String(PORTS.gateway),
      ENTITLEMENT_GRPC_URL: `127.0.0.1:${PORTS.grpc}`,
      ROUTES_FILE: routes,
      USAGE_EVENT_SOURCE: 'bench-variants',
      ...variant.env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout?.resume();
  return child;
}

async function startPipeline(variant: Variant): Promise<Pipeline> {
  const pipeline = {
    entitlement: startService(
      'entitlement',
      {
        ...common,
        HTTP_PORT: String(PORTS.entitlement),
        GRPC_URL: `127.0.0.1:${PORTS.grpc}`,
        USAGE_RECORDED_GROUP_ID: 'bench-variants-entitlement',
        ...variant.pipelineEnv,
      },
      PIPELINE_NODE_ARGS,
      variant.pipelineRoot,
    ),
    metering: startService(
      'metering',
      {
        ...common,
        HTTP_PORT: String(PORTS.metering),
        USAGE_GROUP_ID: 'bench-variants-metering',
        ...variant.pipelineEnv,
      },
      PIPELINE_NODE_ARGS,
      variant.pipelineRoot,
    ),
  };
  try {
    await waitReady(`http://127.0.0.1:${PORTS.entitlement}/ready`, 'entitlement');
    await waitReady(`http://127.0.0.1:${PORTS.metering}/ready`, 'metering');
  } catch (err) {
    await stopPipeline(pipeline);
    throw err;
  }
  return pipeline;
}

async function stopPipeline(pipeline: Pipeline | undefined): Promise<void> {
  await Promise.all([stopProcess(pipeline?.entitlement), stopProcess(pipeline?.metering)]);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const variants = JSON.parse(process.argv[2] ?? '[]') as Variant[];
  if (variants.length === 0) throw new Error('give the variants as a JSON array (see the header)');
  const dir = mkdtempSync(join(tmpdir(), 'paygate-bench-variants-'));
  const routes = writeDemoRoutes(dir, PORTS.upstream);
  const upstream = spawn(process.execPath, [join(__dirname, '..', 'scripts', 'demo-upstream.js')], {
    env: { ...process.env, PORT: String(PORTS.upstream) },
    stdio: 'ignore',
  });
  // Variants that differ behind the gateway get their own entitlement and metering each time;
  // otherwise one pair serves every variant.
  const perVariant = variants.some((v) => v.pipelineEnv || v.pipelineRoot);
  let pipeline: Pipeline | undefined;
  try {
    await waitReady(`http://127.0.0.1:${PORTS.upstream}/`, 'upstream');
    await skipBacklog(common.KAFKA_BROKERS, {
      metering: 'bench-variants-metering',
      entitlement: 'bench-variants-entitlement',
    });
    pipeline = await startPipeline(variants[0]);
    const entitlementUrl = `http://127.0.0.1:${PORTS.entitlement}`;
    const customers = await seedCustomers(entitlementUrl, KEYS);
    const keyed = customers.map((c) => ({ authorization: `Bearer ${c.apiKey}` }));
    const headers = (n: number) => keyed[n % keyed.length];
    const url = `http://127.0.0.1:${PORTS.gateway}/demo/x`;
    console.log(
      `bench/gateway-variants: ${RATE} req/s for ${SECONDS} s after ${WARM_UP_SECONDS} s of warm-up, ${ROUNDS} rounds` +
        (KEYS > 1
          ? `, over ${KEYS} customers in turn (a request per key every ${(KEYS / RATE).toFixed(2)} s)`
          : '') +
        (perVariant ? ', entitlement and metering started for each variant' : ''),
    );
    const results = new Map<string, number[]>(variants.map((v) => [v.name, []]));
    const pipelines = new Map<string, number[]>(variants.map((v) => [v.name, []]));
    const behindGateway: ProcessGroups = {
      entitlement: () => [pipeline?.entitlement.pid as number],
      metering: () => [pipeline?.metering.pid as number],
      kafka: () => pidsMatching(/kafka\.Kafka/),
      postgres: () => pidsMatching(/^postgres/),
    };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const variant of variants) {
        if (perVariant && !(round === 1 && variant === variants[0])) {
          await stopPipeline(pipeline);
          pipeline = await startPipeline(variant);
        }
        const gateway = startGateway(variant, routes);
        try {
          await waitReady(`http://127.0.0.1:${PORTS.gateway}/ready`, variant.name);
          await paced(url, headers, RATE, WARM_UP_SECONDS, 0);
          const stats = await gatewayStats(PORTS.gateway);
          const before = cpuSeconds(gateway.pid as number);
          const behind = measureCpu(behindGateway);
          const run = await paced(url, headers, RATE, SECONDS, 0);
          const us = ((cpuSeconds(gateway.pid as number) - before) * 1e6) / run.sent;
          const after = await gatewayStats(PORTS.gateway);
          const perRequest = (n: number) => (n / run.sent).toFixed(3);
          const spent = behind();
          const pipelineUs =
            (Object.values(spent).reduce((sum, seconds) => sum + seconds, 0) * 1e6) / run.sent;
          results.get(variant.name)?.push(us);
          pipelines.get(variant.name)?.push(pipelineUs);
          console.log(
            `  round ${round} ${variant.name.padEnd(24)} ${us.toFixed(1)} µs/request` +
              ` (${run.sent} sent, ${run.failed} failed, p99 ${run.p99.toFixed(2)} ms;` +
              ` per request ${perRequest(after.leaseRequests - stats.leaseRequests)} lease requests,` +
              ` ${perRequest(after.leaseCloses - stats.leaseCloses)} closes);` +
              ` pipeline ${pipelineUs.toFixed(1)} µs/request (${cpuPerUnit(spent, run.sent, 1)})`,
          );
        } finally {
          await stopProcess(gateway);
        }
      }
    }
    for (const [name, runs] of results) {
      console.log(
        `  ${name.padEnd(32)} median ${median(runs).toFixed(1)} µs/request (${runs
          .map((r) => r.toFixed(1))
          .join(
            ' / ',
          )}); pipeline median ${median(pipelines.get(name) ?? []).toFixed(1)} µs/request`,
      );
    }
  } finally {
    await Promise.all([stopProcess(upstream), stopPipeline(pipeline)]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `count` customers of the demo plan with ample credits and a key each, made a few at a time. */
async function seedCustomers(baseUrl: string, count: number): Promise<DemoCustomer[]> {
  const first = await seedDemoCustomer(baseUrl, BENCH_ADMIN_TOKEN, 1e9, 'Bench variants');
  const customers = [first];
  while (customers.length < count) {
    const batch = Math.min(SEED_CONCURRENCY, count - customers.length);
    customers.push(
      ...(await Promise.all(
        Array.from({ length: batch }, (_, i) =>
          seedCustomer(baseUrl, BENCH_ADMIN_TOKEN, {
            credits: 1e9,
            name: `Bench variants ${customers.length + i}`,
            planId: first.planId,
          }),
        ),
      )),
    );
  }
  return customers;
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
