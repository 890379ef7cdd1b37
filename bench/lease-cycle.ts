/**
 * bench/lease-cycle: what one lease cycle costs the entitlement service in CPU, the work a
 * busy key's gateway asks for once per LEASE_MAX_UNITS requests: a Check over gRPC that grants
 * a lease (`BENCH_CYCLE_UNITS`, 1000), then a Release that closes it. The service runs as its
 * own process; the cycles go one after another at fixed rates (`BENCH_CYCLE_RATES`, 6,20,60
 * per second, for `BENCH_CYCLE_SECONDS`, 15, each), and its CPU (utime + stime of every
 * thread) is divided by the cycles, after the same span idle as the baseline of the run.
 *   node dist/bench/lease-cycle.js   (DATABASE_URL, KAFKA_BROKERS, KAFKA_PREFIX)
 * BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") are passed to the service's node.
 */
import { EntitlementGrpcClient } from '@paygate/testing';
import { seedDemoCustomer } from '../scripts/seed-demo';
import { measureCpu } from './support/cpu';
import {
  BENCH_ADMIN_TOKEN,
  sleep,
  startService,
  stopProcess,
  waitReady,
} from './support/processes';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/paygate_bench';
const KAFKA_BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const UNITS = Number(process.env.BENCH_CYCLE_UNITS ?? 1000);
const RATES = (process.env.BENCH_CYCLE_RATES ?? '6,20,60').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_CYCLE_SECONDS ?? 15);
const PORTS = { http: 15981, grpc: 15982 };

async function main(): Promise<void> {
  const entitlement = startService(
    'entitlement',
    {
      DATABASE_URL,
      KAFKA_BROKERS,
      HTTP_PORT: String(PORTS.http),
      GRPC_URL: `127.0.0.1:${PORTS.grpc}`,
    },
    (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
  );
  const client = new EntitlementGrpcClient(PORTS.grpc);
  try {
    const base = `http://127.0.0.1:${PORTS.http}`;
    await waitReady(`${base}/ready`, 'entitlement');
    const demo = await seedDemoCustomer(base, BENCH_ADMIN_TOKEN, 1e12, 'Bench lease cycle');
    const pid = entitlement.pid as number;
    // CPU seconds of the service (every thread) from now until the returned call.
    const window = () => {
      const stop = measureCpu({ entitlement: () => [pid] });
      return () => stop().entitlement;
    };
    // One cycle first: connections and the statements' first preparation are start-up.
    await cycle(client, demo.apiKey);
    await sleep(2000);
    const idleWindow = window();
    await sleep(SECONDS * 1000);
    const idle = idleWindow() / SECONDS;
    console.log(
      `bench/lease-cycle: entitlement alone, Check of ${UNITS} units then a closing Release, ${SECONDS} s per rate`,
    );
    console.log(`  idle                     ${(idle * 1000).toFixed(1)} ms of CPU a second`);
    for (const rate of RATES) {
      const spent = window();
      const started = Date.now();
      let cycles = 0;
      while (cycles < rate * SECONDS) {
        const wait = started + (cycles * 1000) / rate - Date.now();
        if (wait > 0) await sleep(wait);
        await cycle(client, demo.apiKey);
        cycles++;
      }
      const seconds = (Date.now() - started) / 1000;
      const busy = spent() - idle * seconds;
      console.log(
        `  ${`${rate} cycles/s`.padEnd(24)} ${((busy / cycles) * 1000).toFixed(2)} ms of CPU per cycle above idle (${cycles} in ${seconds.toFixed(1)} s; ${(busy / seconds / Math.max(idle, 1e-9)).toFixed(1)} × the idle CPU)`,
      );
    }
  } finally {
    client.close();
    await stopProcess(entitlement);
  }
}

async function cycle(client: EntitlementGrpcClient, apiKey: string): Promise<void> {
  const decision = await client.check(apiKey, 1, 'requests', UNITS);
  if (!decision.allowed) throw new Error(`refused: ${JSON.stringify(decision.denial)}`);
  await client.release(decision.leaseId, 'bench: served', 0, true);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
