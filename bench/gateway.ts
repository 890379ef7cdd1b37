/**
 * bench/gateway: requests/s and latency p50/p99, measured by wrk in one run on this machine,
 * for (a) the demo upstream directly, (b) nginx as a plain reverse proxy in front of it, and
 * (c) the paygate gateway in front of it with auth, a decision per request (credit lease) and
 * metering on, and (d) a bare Node proxy (support/bare-proxy.ts: the runtime's ceiling for any
 * gateway); prints the ratios. Needs nginx and wrk (bench/run.sh installs them).
 * Then each target again at a fixed rate far below capacity (BENCH_GATEWAY_PACED_RATE), where
 * p99 is what a hop adds rather than the queue wrk's saturating load builds.
 *   npm run bench   (BENCH_GATEWAY_SECONDS, BENCH_GATEWAY_CONNECTIONS, BENCH_GATEWAY_PACED_RATE,
 *                    BENCH_GATEWAY_PACED_SECONDS, DATABASE_URL, KAFKA_BROKERS)
 */
import 'reflect-metadata';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedDemoCustomer } from '../scripts/seed-demo';
import { ProcessGroups, cpuPerUnit, measureCpu, pidsMatching } from './support/cpu';
import { PacedResult, paced } from './support/paced';
import { BENCH_ADMIN_TOKEN, startService, stopProcess, waitReady } from './support/processes';

const SECONDS = Number(process.env.BENCH_GATEWAY_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_GATEWAY_CONNECTIONS ?? 32);
const PACED_RATE = Number(process.env.BENCH_GATEWAY_PACED_RATE ?? 1000);
const PACED_SECONDS = Number(process.env.BENCH_GATEWAY_PACED_SECONDS ?? 10);
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/paygate_bench';
const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const PORTS = {
  upstream: 14950,
  nginx: 14951,
  entitlement: 14961,
  grpc: 16961,
  metering: 14962,
  gateway: 14963,
  bareProxy: 14964,
};

interface Result {
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
}

/** wrk's "--latency" report: Requests/sec and the 50/99 % latency lines, in milliseconds. */
function parseWrk(output: string): Result {
  const ms = (line: string | undefined) => {
    const m = /([\d.]+)(us|ms|s)\b/.exec(line ?? '');
    if (!m) return NaN;
    const value = Number(m[1]);
    return m[2] === 'us' ? value / 1000 : m[2] === 's' ? value * 1000 : value;
  };
  const lines = output.split('\n');
  return {
    requests: Number(/(\d+) requests in/.exec(output)?.[1] ?? NaN),
    perSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? NaN),
    p50: ms(lines.find((l) => /^\s+50%/.test(l))),
    p99: ms(lines.find((l) => /^\s+99%/.test(l))),
    non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0),
  };
}

interface Measured extends Result {
  /** CPU seconds per process group during the run. */
  cpu: Record<string, number>;
}

function wrk(url: string, groups: ProcessGroups, headers: string[] = []): Measured {
  const args = ['-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '--latency'];
  for (const h of headers) args.push('-H', h);
  const stop = measureCpu(groups);
  const result = parseWrk(execFileSync('wrk', [...args, url], { encoding: 'utf8' }));
  return { ...result, cpu: stop() };
}

/** What the gateway's /metrics says of its admissions, decisions, event loop and GC. */
interface GatewayStats {
  admitted: number;
  waited: number;
  decisions: number;
  decisionSeconds: number;
  /** Since the previous scrape (prom-client resets its event-loop histogram on each). */
  eventLoopP99Seconds: number;
  eventLoopMaxSeconds: number;
  gcSeconds: number;
  majorGcSeconds: number;
  majorGcs: number;
  heapUsedBytes: number;
}

async function gatewayStats(port: number): Promise<GatewayStats> {
  // On the gateway's admin listener: 127.0.0.1, HTTP_PORT + 1000 (ADMIN_HTTP_PORT unset).
  const text = await (await fetch(`http://127.0.0.1:${port + 1000}/metrics`)).text();
  const sum = (pattern: RegExp) =>
    [...text.matchAll(pattern)].reduce((n, m) => n + Number(m[1]), 0);
  return {
    admitted: sum(/^paygate_gateway_admissions_total ([\d.e+]+)$/gm),
    waited: sum(/^paygate_gateway_admission_waits_total ([\d.e+]+)$/gm),
    decisions: sum(/^paygate_gateway_decision_seconds_count\{[^}]*\} ([\d.e+]+)$/gm),
    decisionSeconds: sum(/^paygate_gateway_decision_seconds_sum\{[^}]*\} ([\d.e+]+)$/gm),
    eventLoopP99Seconds: sum(/^nodejs_eventloop_lag_p99_seconds ([\d.e+-]+)$/gm),
    eventLoopMaxSeconds: sum(/^nodejs_eventloop_lag_max_seconds ([\d.e+-]+)$/gm),
    gcSeconds: sum(/^nodejs_gc_duration_seconds_sum\{[^}]*\} ([\d.e+-]+)$/gm),
    majorGcSeconds: sum(/^nodejs_gc_duration_seconds_sum\{kind="major"\} ([\d.e+-]+)$/gm),
    majorGcs: sum(/^nodejs_gc_duration_seconds_count\{kind="major"\} ([\d.e+-]+)$/gm),
    heapUsedBytes: sum(/^nodejs_heap_size_used_bytes ([\d.e+-]+)$/gm),
  };
}

/** "0.4 % of 59,000 admissions waited for a lease; 590 decisions, mean 12.3 ms". */
function statsBetween(before: GatewayStats, after: GatewayStats): string {
  const admitted = after.admitted - before.admitted;
  const waited = after.waited - before.waited;
  const decisions = after.decisions - before.decisions;
  const mean = ((after.decisionSeconds - before.decisionSeconds) / decisions) * 1000;
  return (
    `${((waited / admitted) * 100).toFixed(2)} % of ${admitted} admissions waited for a lease; ` +
    `${decisions} remote decisions, mean ${mean.toFixed(1)} ms; gateway event-loop delay ` +
    `p99 ${(after.eventLoopP99Seconds * 1000).toFixed(1)} ms, max ${(after.eventLoopMaxSeconds * 1000).toFixed(1)} ms; ` +
    `GC ${((after.gcSeconds - before.gcSeconds) * 1000).toFixed(0)} ms (${after.majorGcs - before.majorGcs} major, ` +
    `${((after.majorGcSeconds - before.majorGcSeconds) * 1000).toFixed(0)} ms), heap used ${(after.heapUsedBytes / 2 ** 20).toFixed(0)} MiB`
  );
}

function startNginx(dir: string): ChildProcess {
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  upstream demo { server 127.0.0.1:${PORTS.upstream}; keepalive 64; }
  server {
    listen 127.0.0.1:${PORTS.nginx};
    location /demo/ {
      proxy_pass http://demo/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
  );
  return spawn('nginx', ['-c', conf, '-p', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'paygate-bench-gateway-'));
  const children: ChildProcess[] = [];
  try {
    const upstream = spawn(
      process.execPath,
      [join(__dirname, '..', 'scripts', 'demo-upstream.js')],
      {
        env: { ...process.env, PORT: String(PORTS.upstream) },
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    const nginxProcess = startNginx(dir);
    const bareProxy = spawn(process.execPath, [join(__dirname, 'support', 'bare-proxy.js')], {
      env: {
        ...process.env,
        PORT: String(PORTS.bareProxy),
        UPSTREAM: `http://127.0.0.1:${PORTS.upstream}`,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(upstream, nginxProcess, bareProxy);
    const routes = join(dir, 'routes.json');
    writeFileSync(
      routes,
      JSON.stringify({
        routes: [
          {
            name: 'demo',
            pathPrefix: '/demo',
            upstream: `http://127.0.0.1:${PORTS.upstream}`,
            stripPrefix: true,
            feature: 'requests',
            cost: 1,
          },
        ],
      }),
    );
    const common = { DATABASE_URL, KAFKA_BROKERS: BROKERS };
    // e.g. --cpu-prof: where each service spends its time under load (a profile per pid).
    const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const [entitlement, metering, gateway] = [
      startService(
        'entitlement',
        {
          ...common,
          HTTP_PORT: String(PORTS.entitlement),
          GRPC_URL: `127.0.0.1:${PORTS.grpc}`,
          USAGE_RECORDED_GROUP_ID: 'bench-gateway-entitlement',
        },
        nodeArgs,
      ),
      startService(
        'metering',
        {
          ...common,
          HTTP_PORT: String(PORTS.metering),
          USAGE_GROUP_ID: 'bench-gateway-metering',
        },
        nodeArgs,
      ),
      startService(
        'gateway',
        {
          ...common,
          HTTP_PORT: String(PORTS.gateway),
          ENTITLEMENT_GRPC_URL: `127.0.0.1:${PORTS.grpc}`,
          ROUTES_FILE: routes,
          USAGE_EVENT_SOURCE: 'bench-gateway',
        },
        nodeArgs,
      ),
    ];
    children.push(entitlement, metering, gateway);
    const pid = (child: ChildProcess) => () => (child.pid ? [child.pid] : []);
    const groups: ProcessGroups = {
      upstream: pid(upstream),
      // nginx's master forks the worker that does the work.
      nginx: () => pidsMatching(new RegExp(`nginx: (master|worker)`)),
      gateway: pid(gateway),
      'bare proxy': pid(bareProxy),
      entitlement: pid(entitlement),
      metering: pid(metering),
      kafka: () => pidsMatching(/kafka\.Kafka/),
      postgres: () => pidsMatching(/^postgres/),
    };
    await waitReady(`http://127.0.0.1:${PORTS.upstream}/`, 'upstream');
    await waitReady(`http://127.0.0.1:${PORTS.nginx}/demo/`, 'nginx');
    await waitReady(`http://127.0.0.1:${PORTS.bareProxy}/`, 'bare proxy');
    for (const [name, port] of [
      ['entitlement', PORTS.entitlement],
      ['metering', PORTS.metering],
      ['gateway', PORTS.gateway],
    ] as const) {
      await waitReady(`http://127.0.0.1:${port}/ready`, name);
    }
    const demo = await seedDemoCustomer(
      `http://127.0.0.1:${PORTS.entitlement}`,
      BENCH_ADMIN_TOKEN,
      100_000_000,
      'Bench gateway',
    );

    console.log(
      `bench/gateway: wrk, 1 thread, ${CONNECTIONS} connections, ${SECONDS} s per target, one customer`,
    );
    const direct = wrk(`http://127.0.0.1:${PORTS.upstream}/hello`, groups);
    const nginx = wrk(`http://127.0.0.1:${PORTS.nginx}/demo/hello`, groups);
    const beforeWrk = await gatewayStats(PORTS.gateway);
    const paygate = wrk(`http://127.0.0.1:${PORTS.gateway}/demo/hello`, groups, [
      `x-api-key: ${demo.apiKey}`,
    ]);
    const wrkStats = statsBetween(beforeWrk, await gatewayStats(PORTS.gateway));
    const bare = wrk(`http://127.0.0.1:${PORTS.bareProxy}/hello`, groups);
    const row = (name: string, r: Measured) =>
      console.log(
        `  ${name.padEnd(34)} ${r.perSecond.toFixed(0).padStart(8)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms${r.non2xx ? `  (${r.non2xx} non-2xx)` : ''}\n` +
          `      CPU per request: ${cpuPerUnit(r.cpu, r.requests, 0)}`,
      );
    row('(a) upstream direct', direct);
    row('(b) nginx reverse proxy', nginx);
    row('(c) paygate gateway (auth+lease+meter)', paygate);
    console.log(`      ${wrkStats}`);
    row('(d) bare Node proxy (node:http+undici)', bare);
    console.log(`  ratio (b)/(a) throughput: ${(nginx.perSecond / direct.perSecond).toFixed(2)}`);
    console.log(`  ratio (c)/(b) throughput: ${(paygate.perSecond / nginx.perSecond).toFixed(3)}`);
    console.log(`  ratio (d)/(b) throughput: ${(bare.perSecond / nginx.perSecond).toFixed(3)}`);
    console.log(`  ratio (c)/(d) throughput: ${(paygate.perSecond / bare.perSecond).toFixed(3)}`);
    console.log(
      `  p99 added by paygate over nginx at saturation: ${(paygate.p99 - nginx.p99).toFixed(2)} ms`,
    );
    // Requests per CPU-second of the proxy process itself: its throughput per core were it
    // alone on a core, which this shared machine (wrk, upstream, Kafka, Postgres) never is.
    const perCore = (r: Measured, group: string) => (r.requests / r.cpu[group]).toFixed(0);
    console.log(
      `  requests per CPU-second: nginx ${perCore(nginx, 'nginx')}, bare Node proxy ${perCore(bare, 'bare proxy')}, gateway ${perCore(paygate, 'gateway')}` +
        `, whole paygate stack ${(paygate.requests / ['gateway', 'entitlement', 'metering', 'kafka', 'postgres'].reduce((sum, g) => sum + paygate.cpu[g], 0)).toFixed(0)}`,
    );

    console.log(
      `bench/gateway: paced, ${PACED_RATE} req/s for ${PACED_SECONDS} s per target (latency from when each request was due)`,
    );
    const pacedRow = (name: string, r: PacedResult) =>
      console.log(
        `  ${name.padEnd(34)} p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  max ${r.max.toFixed(2)} ms${r.failed ? `  (${r.failed} failed)` : ''}`,
      );
    type Target = { name: string; url: string; headers: Record<string, string> };
    const bareTarget: Target = {
      name: '(d) bare Node proxy',
      url: `http://127.0.0.1:${PORTS.bareProxy}/hello`,
      headers: {},
    };
    const gatewayTarget: Target = {
      name: '(c) paygate gateway (auth+lease+meter)',
      url: `http://127.0.0.1:${PORTS.gateway}/demo/hello`,
      headers: { 'x-api-key': demo.apiKey },
    };
    const pacedTargets: Target[] = [
      { name: '(a) upstream direct', url: `http://127.0.0.1:${PORTS.upstream}/hello`, headers: {} },
      {
        name: '(b) nginx reverse proxy',
        url: `http://127.0.0.1:${PORTS.nginx}/demo/hello`,
        headers: {},
      },
      bareTarget,
      gatewayTarget,
    ];
    const pace = (t: Target) => paced(t.url, t.headers, PACED_RATE, PACED_SECONDS);
    const pacedResults: PacedResult[] = [];
    for (const target of pacedTargets) {
      const before = await gatewayStats(PORTS.gateway);
      const result = await pace(target);
      pacedRow(target.name, result);
      if (target === gatewayTarget)
        console.log(`      ${statsBetween(before, await gatewayStats(PORTS.gateway))}`);
      pacedResults.push(result);
    }
    const [pacedDirect, pacedNginx, pacedBare, pacedPaygate] = pacedResults;
    // The control for (c)'s tail: the bare proxy at the same rate while (c) runs, so that it
    // shares the cores with the metering, entitlement, Kafka and Postgres work (c) causes.
    const [, bareBeside] = await Promise.all([pace(gatewayTarget), pace(bareTarget)]);
    pacedRow('(d) bare Node proxy, beside (c)', bareBeside);
    console.log(
      `  p99 added at ${PACED_RATE} req/s: by paygate over nginx ${(pacedPaygate.p99 - pacedNginx.p99).toFixed(2)} ms, ` +
        `over the bare Node proxy ${(pacedPaygate.p99 - pacedBare.p99).toFixed(2)} ms, over the upstream ${(pacedPaygate.p99 - pacedDirect.p99).toFixed(2)} ms; ` +
        `p50 added over nginx ${(pacedPaygate.p50 - pacedNginx.p50).toFixed(2)} ms`,
    );
    console.log(
      `  p99 of the bare Node proxy alone ${pacedBare.p99.toFixed(2)} ms, beside (c) ${bareBeside.p99.toFixed(2)} ms: ` +
        `what the shared cores add to any proxy while paygate's pipeline runs`,
    );
  } finally {
    for (const child of children.reverse()) await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
