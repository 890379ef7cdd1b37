import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createKafka, startGroupAtEnd } from '../../libs/messaging/src/kafka';
import { testConfig } from '../../libs/testing/src/test-config';
import { topicNames } from '../../libs/contracts/src/topics';
import { operatorApi } from '../../scripts/seed-demo';
import { randomUUID } from 'node:crypto';

const root = join(__dirname, '..', '..');
export const ARTIFACTS = join(root, 'test-artifacts');

type Service = 'entitlement' | 'metering' | 'gateway';

export interface StackPorts {
  entitlementHttp: number;
  entitlementGrpc: number;
  metering: number;
  gateway: number;
  upstream: number;
}

export const ADMIN_TOKEN = 'e2e-admin-token-0123456789';

/**
 * Each service's admin listener (/metrics, 127.0.0.1) is on its HTTP port + 5000 in tests
 * (13x01 → 18x01, 14x01 → 19x01, gateways 18x80/19x80 → 23x80/24x80): clear of every port
 * the test files use, which the services' default of + 1000 is not.
 */
export const ADMIN_PORT_OFFSET = 5000;

/** The /metrics address of a service listening on this HTTP port (see ADMIN_PORT_OFFSET). */
export const metricsUrl = (httpPort: number): string =>
  `http://127.0.0.1:${httpPort + ADMIN_PORT_OFFSET}/metrics`;

/**
 * Consumer groups of this test file's stacks: their own, so that two test runs on one broker
 * (a developer's and CI's, or parallel runs against separate databases) never share a group,
 * which would hand one run's events to the other's services. They start at the topics' end.
 */
export const RUN = randomUUID().slice(0, 8);
export const STRIPE_WEBHOOK_SECRET = 'whsec_e2e_0123456789abcdef';

/**
 * The three services as real processes from dist/, against the real test database and broker.
 * Their logs go to test-artifacts/ so a failing run can be read afterwards.
 */
export class Stack {
  private readonly processes: { name: string; child: ChildProcess }[] = [];
  private readonly envs = new Map<Service, Record<string, string>>();

  /** `label` prefixes the log files, so two stacks in one test keep separate logs. */
  constructor(
    readonly ports: StackPorts,
    private readonly label = '',
  ) {}

  url(service: 'entitlement' | 'metering' | 'gateway'): string {
    const port = {
      entitlement: this.ports.entitlementHttp,
      metering: this.ports.metering,
      gateway: this.ports.gateway,
    }[service];
    return `http://127.0.0.1:${port}`;
  }

  /** A service's /metrics, on its admin listener (not on url(service)). */
  metricsUrl(service: 'entitlement' | 'metering' | 'gateway'): string {
    return metricsUrl(Number(new URL(this.url(service)).port));
  }

  /** Starts the services (all three unless named), each as its own process. */
  async start(
    services: Service[] = ['entitlement', 'metering', 'gateway'],
    extraEnv: Record<string, string> = {},
  ): Promise<void> {
    mkdirSync(ARTIFACTS, { recursive: true });
    const config = testConfig();
    const routesFile = this.writeRoutes('e2e', { demo: {} });
    const common = {
      DATABASE_URL: config.databaseUrl,
      KAFKA_BROKERS: config.kafkaBrokers.join(','),
      KAFKA_PREFIX: config.kafkaPrefix,
      ADMIN_TOKEN,
      LOG_LEVEL: 'info',
    };
    const env = {} as Record<Service, Record<string, string>>;
    env.entitlement = {
      ...common,
      HTTP_PORT: String(this.ports.entitlementHttp),
      ADMIN_HTTP_PORT: String(this.ports.entitlementHttp + ADMIN_PORT_OFFSET),
      GRPC_URL: `127.0.0.1:${this.ports.entitlementGrpc}`,
      USAGE_RECORDED_GROUP_ID: `paygate-e2e-entitlement-${RUN}`,
      STRIPE_WEBHOOK_SECRET,
    };
    env.metering = {
      ...common,
      HTTP_PORT: String(this.ports.metering),
      ADMIN_HTTP_PORT: String(this.ports.metering + ADMIN_PORT_OFFSET),
      USAGE_GROUP_ID: `paygate-e2e-metering-${RUN}`,
    };
    env.gateway = {
      ...common,
      HTTP_PORT: String(this.ports.gateway),
      ADMIN_HTTP_PORT: String(this.ports.gateway + ADMIN_PORT_OFFSET),
      ENTITLEMENT_GRPC_URL: `127.0.0.1:${this.ports.entitlementGrpc}`,
      ROUTES_FILE: routesFile,
      USAGE_EVENT_SOURCE: 'paygate-gateway-e2e',
    };
    const kafka = createKafka('e2e-stack', config.kafkaBrokers);
    // A group that still has members (a stack started again after a kill) keeps its offsets.
    // The deployment's prefix: the run's, or another one given to this stack.
    const kafkaPrefix = extraEnv.KAFKA_PREFIX ?? config.kafkaPrefix;
    const topics = topicNames(kafkaPrefix);
    await startGroupAtEnd(
      kafka,
      kafkaPrefix + env.entitlement.USAGE_RECORDED_GROUP_ID,
      topics.usageRecorded,
    ).catch(() => undefined);
    await startGroupAtEnd(kafka, kafkaPrefix + env.metering.USAGE_GROUP_ID, topics.usage).catch(
      () => undefined,
    );
    for (const service of services) {
      this.envs.set(service, { ...env[service], ...extraEnv });
      this.spawn(service, `dist/apps/${service}/src/main.js`, this.envs.get(service)!);
    }
    await Promise.all(services.map((s) => this.waitReady(s)));
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.processes.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            // A process that died of a signal has a signalCode and no exitCode.
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
            child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  }

  /**
   * Starts one more process of a service under its own name and port (a second metering
   * instance, or one restarted after a kill), and waits until it is ready, or (`until`
   * 'live') only until it answers /health: for one that is meant never to be ready.
   */
  async startInstance(
    name: string,
    service: Service,
    port: number,
    env: Record<string, string>,
    until: 'ready' | 'live' = 'ready',
  ): Promise<void> {
    mkdirSync(ARTIFACTS, { recursive: true });
    const config = testConfig();
    this.spawn(name, `dist/apps/${service}/src/main.js`, {
      DATABASE_URL: config.databaseUrl,
      KAFKA_BROKERS: config.kafkaBrokers.join(','),
      KAFKA_PREFIX: config.kafkaPrefix,
      ADMIN_TOKEN,
      LOG_LEVEL: 'info',
      HTTP_PORT: String(port),
      ADMIN_HTTP_PORT: String(port + ADMIN_PORT_OFFSET),
      ...env,
    });
    await this.waitUntilReady(
      name,
      `http://127.0.0.1:${port}`,
      until === 'live' ? '/health' : '/ready',
    );
  }

  /**
   * Writes a route table to test-artifacts/routes.<label>.json and returns its path: one route
   * per name, at /<name>, to this stack's upstream, feature `requests`, cost 1, prefix
   * stripped; each route's object overrides any of that.
   */
  writeRoutes(label: string, routes: Record<string, object>): string {
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = join(ARTIFACTS, `routes.${label}.json`);
    const table = Object.entries(routes).map(([name, extra]) => ({
      name,
      pathPrefix: `/${name}`,
      upstream: `http://127.0.0.1:${this.ports.upstream}`,
      stripPrefix: true,
      feature: 'requests',
      cost: 1,
      ...extra,
    }));
    writeFileSync(file, JSON.stringify({ routes: table }));
    return file;
  }

  /** A call to the operator API; throws on an error status, undefined for 204. */
  operator<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    return operatorApi(this.url('entitlement'), ADMIN_TOKEN)<T>(method, path, body);
  }

  /**
   * Starts a service of this stack again, as it was started (with `changed` over that, for
   * this start only), after it was killed.
   */
  async restart(service: Service, changed: Record<string, string> = {}): Promise<void> {
    const env = this.envs.get(service);
    if (!env) throw new Error(`${service} was not started by this stack`);
    this.spawn(service, `dist/apps/${service}/src/main.js`, { ...env, ...changed });
    await this.waitReady(service);
  }

  /** Kills a named process (SIGKILL by default: no shutdown hooks, like a crash). */
  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const index = this.processes.findIndex((p) => p.name === name && p.child.exitCode === null);
    if (index < 0) return;
    const { child } = this.processes[index];
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
    this.processes.splice(index, 1);
  }

  private spawn(name: string, script: string, env: Record<string, string>): void {
    const child = spawn(process.execPath, [join(root, script)], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log = createWriteStream(join(ARTIFACTS, `${this.label}${name}.log`), { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.processes.push({ name, child });
  }

  private waitReady(service: Service): Promise<void> {
    return this.waitUntilReady(service, this.url(service));
  }

  private async waitUntilReady(service: string, url: string, path = '/ready'): Promise<void> {
    const deadline = Date.now() + 60_000;
    const proc = this.processes.find((p) => p.name === service && p.child.exitCode === null);
    while (Date.now() < deadline) {
      if (proc?.child.exitCode !== null)
        throw new Error(`${service} exited; see test-artifacts/${this.label}${service}.log`);
      try {
        const response = await fetch(`${url}${path}`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(
      `${service} not ready within 60s; see test-artifacts/${this.label}${service}.log`,
    );
  }
}

/** JSON that shows Maps and Sets too (JSON.stringify prints them as {}). */
function printable(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v instanceof Map ? Object.fromEntries(v) : v instanceof Set ? [...v] : v,
  ).slice(0, 2000);
}

export async function eventually<T>(
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await probe();
  while (!accept(last)) {
    if (Date.now() > deadline)
      throw new Error(`condition not met in time; last value: ${printable(last)}`);
    await new Promise((r) => setTimeout(r, 200));
    last = await probe();
  }
  return last;
}

export interface SeenMessage {
  value: string;
  headers: Record<string, string>;
}

/**
 * Reads a topic from the beginning with a fresh consumer group until `match` has been seen,
 * then waits a moment more so that a duplicate would be seen too; returns every match.
 */
export async function readTopicUntil(
  topic: string,
  match: (m: SeenMessage) => boolean,
): Promise<SeenMessage[]> {
  const kafka = createKafka('e2e-reader', testConfig().kafkaBrokers);
  const consumer = kafka.consumer({
    groupId: `${testConfig().kafkaPrefix}e2e-reader-${randomUUID()}`,
  });
  const found: SeenMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const seen = {
        value: message.value?.toString() ?? '',
        headers: Object.fromEntries(
          Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
        ),
      };
      if (match(seen)) found.push(seen);
    },
  });
  try {
    await eventually(
      async () => found.length,
      (n) => n > 0,
    );
    await new Promise((r) => setTimeout(r, 1000));
  } finally {
    await consumer.disconnect();
  }
  return found;
}
