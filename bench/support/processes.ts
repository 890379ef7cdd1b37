import { ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789';
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts one paygate service from dist/ as its own process. `nodeArgs` (e.g. --cpu-prof) come
 * before the script, so a service can be profiled under load; `root`, another checkout whose
 * dist/ is built, runs that checkout's service instead of this one's.
 */
export function startService(
  service: 'entitlement' | 'metering' | 'gateway',
  env: Record<string, string>,
  nodeArgs: string[] = [],
  root?: string,
): ChildProcess {
  const main = root
    ? join(root, 'dist', 'apps', service, 'src', 'main.js')
    : join(__dirname, '..', '..', 'apps', service, 'src', 'main.js');
  return spawn(process.execPath, [...nodeArgs, main], {
    // warn by default: no access line per request. BENCH_LOG_LEVEL=info measures with it, as a
    // deployment with the default LOG_LEVEL runs.
    env: {
      ...process.env,
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
      ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

export async function waitReady(url: string, what: string): Promise<void> {
  for (let i = 0; i < 240; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  throw new Error(`${what} did not become ready at ${url}`);
}

export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/**
 * Writes the benches' route table (one route, /demo to the upstream on `upstreamPort`, prefix
 * stripped, 1 unit of `requests` a request) into `dir` and returns its path.
 */
export function writeDemoRoutes(dir: string, upstreamPort: number): string {
  const file = join(dir, 'routes.json');
  const demo = {
    name: 'demo',
    pathPrefix: '/demo',
    upstream: `http://127.0.0.1:${upstreamPort}`,
    stripPrefix: true,
    feature: 'requests',
    cost: 1,
  };
  writeFileSync(file, JSON.stringify({ routes: [demo] }));
  return file;
}
