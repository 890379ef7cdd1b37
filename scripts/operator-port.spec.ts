import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { demoInstructions, seedDemoSettings, type DemoCustomer } from './seed-demo';

/**
 * Admin endpoints are never on a public port by default: the two ways users run the suite,
 * `npm start` (scripts/start.sh) and docker-compose.yml, serve the entitlement service's
 * operator API on a port of its own, 3011 (OPERATOR_HTTP_PORT), bound to loopback, while the
 * public 3001 (billing page, webhooks) answers it 404; metering's likewise on 3012, its public
 * 3002 keeping /events. Compose publishes 3011 by its own
 * variable, PAYGATE_OPERATOR_BIND, so that PAYGATE_BIND=0.0.0.0 (the billing page for the
 * world) never exposes the API that changes plans, credits and keys. scripts/compose-smoke.sh
 * proves it on a running stack; this keeps the files from drifting back.
 */

const ROOT = join(__dirname, '..');
const PUBLIC_PORT = 3001;
const OPERATOR_PORT = 3011;
/** Metering's: /events on its public port, meters, usage and dead letters on this one. */
const METERING_PUBLIC_PORT = 3002;
const METERING_OPERATOR_PORT = 3012;

interface ComposeService {
  environment?: Record<string, unknown>;
  ports?: string[];
  healthcheck?: { test?: string[] };
}

/** A published port as the compose file writes them: `${VARIABLE:-default}:host:container`. */
interface Published {
  service: string;
  variable: string;
  defaultAddress: string;
  hostPort: number;
  containerPort: number;
}

const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), {
  // The file shares environments and settings through `<<: *anchor`.
  merge: true,
}) as { services: Record<string, ComposeService> };
const services = compose.services;

function published(): Published[] {
  return Object.entries(services).flatMap(([service, s]) =>
    (s.ports ?? []).map((entry) => {
      const match = /^\$\{(\w+):-([^}]+)\}:(\d+):(\d+)$/.exec(entry);
      // Any other form (no address, a fixed one) would escape the checks below: fail on it.
      if (!match) throw new Error(`${service} publishes ${entry}: not \${VAR:-address}:port:port`);
      return {
        service,
        variable: match[1],
        defaultAddress: match[2],
        hostPort: Number(match[3]),
        containerPort: Number(match[4]),
      };
    }),
  );
}

/** start.sh's commands, each on one line (continuations joined). */
function startCommands(): string[] {
  return readFileSync(join(ROOT, 'scripts', 'start.sh'), 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'));
}

function commandOf(pattern: RegExp): string {
  const found = startCommands().filter((line) => pattern.test(line));
  expect(found).toHaveLength(1);
  return found[0];
}

describe('the operator API port (npm start, docker compose)', () => {
  it('compose: entitlement serves the operator API on 3011 only', () => {
    const env = services.entitlement.environment ?? {};
    expect(env.HTTP_PORT).toBe(PUBLIC_PORT);
    expect(env.OPERATOR_HTTP_PORT).toBe(OPERATOR_PORT);
    // Inside the container, so that the seed reaches it over the compose network.
    expect(env.OPERATOR_HTTP_HOST).toBe('0.0.0.0');
    // Healthy once every listener is: the operator port listens last.
    expect(services.entitlement.healthcheck?.test?.join(' ')).toContain(
      `http://127.0.0.1:${OPERATOR_PORT}/ready`,
    );
  });

  it('compose: metering serves its operator API on 3012 only, relayed like 3002', () => {
    const env = services.metering.environment ?? {};
    expect(env.HTTP_PORT).toBe(METERING_PUBLIC_PORT);
    expect(env.OPERATOR_HTTP_PORT).toBe(METERING_OPERATOR_PORT);
    expect(env.OPERATOR_HTTP_HOST).toBe('0.0.0.0');
    expect(services.metering.healthcheck?.test?.join(' ')).toContain(
      `http://127.0.0.1:${METERING_OPERATOR_PORT}/ready`,
    );
    // Replicas publish no port: a relay does, one per port.
    expect(services.metering.ports ?? []).toEqual([]);
    expect(services['metering-operator-lb'].environment).toMatchObject({
      RELAY_PORT: METERING_OPERATOR_PORT,
      RELAY_TARGET: `metering:${METERING_OPERATOR_PORT}`,
    });
  });

  it('compose: publishes the operator ports on 127.0.0.1 through PAYGATE_OPERATOR_BIND, never PAYGATE_BIND', () => {
    const ports = published();
    const operatorPorts = [OPERATOR_PORT, METERING_OPERATOR_PORT];
    expect(ports.filter((p) => operatorPorts.includes(p.containerPort))).toEqual([
      {
        service: 'entitlement',
        variable: 'PAYGATE_OPERATOR_BIND',
        defaultAddress: '127.0.0.1',
        hostPort: OPERATOR_PORT,
        containerPort: OPERATOR_PORT,
      },
      {
        service: 'metering-operator-lb',
        variable: 'PAYGATE_OPERATOR_BIND',
        defaultAddress: '127.0.0.1',
        hostPort: METERING_OPERATOR_PORT,
        containerPort: METERING_OPERATOR_PORT,
      },
    ]);
    // The operator variable publishes nothing else, the public one never an operator port.
    expect(
      ports.filter((p) => p.variable === 'PAYGATE_OPERATOR_BIND').map((p) => p.containerPort),
    ).toEqual(operatorPorts);
    for (const p of ports.filter((p) => p.variable === 'PAYGATE_BIND')) {
      for (const port of operatorPorts) expect([p.hostPort, p.containerPort]).not.toContain(port);
    }
    // Every published port defaults to loopback.
    expect(ports.filter((p) => p.defaultAddress !== '127.0.0.1')).toEqual([]);
    expect(ports.filter((p) => p.variable === 'PAYGATE_BIND').map((p) => p.hostPort)).toContain(
      PUBLIC_PORT,
    );
  });

  it('compose: the seed calls the operator port and prints it as the host reaches it', () => {
    const env = services.seed.environment ?? {};
    expect(env.ENTITLEMENT_URL).toBe(`http://entitlement:${OPERATOR_PORT}`);
    expect(env.ENTITLEMENT_PRINTED_URL).toBe(`http://localhost:${OPERATOR_PORT}`);
    // Whatever else calls the entitlement service over HTTP on the compose network is an
    // operator client (customers and Stripe come from outside).
    for (const [service, s] of Object.entries(services)) {
      for (const [name, value] of Object.entries(s.environment ?? {})) {
        if (typeof value !== 'string') continue;
        for (const [, port] of value.matchAll(/\/\/entitlement:(\d+)/g)) {
          expect({ service, name, port: Number(port) }).toEqual({
            service,
            name,
            port: OPERATOR_PORT,
          });
        }
      }
    }
  });

  it('npm start: entitlement and metering get their operator ports on loopback; the seed calls it', () => {
    const entitlement = commandOf(/start_process entitlement /);
    expect(entitlement).toMatch(new RegExp(`(^|\\s)HTTP_PORT=${PUBLIC_PORT}\\s`));
    expect(entitlement).toMatch(new RegExp(`(^|\\s)OPERATOR_HTTP_PORT=${OPERATOR_PORT}\\s`));
    // Its default, 127.0.0.1, unless start.sh names another loopback address.
    expect(entitlement).not.toMatch(/OPERATOR_HTTP_HOST=(?!127\.0\.0\.1\s)/);
    expect(commandOf(/wait_ready entitlement /)).toContain(
      `http://127.0.0.1:${OPERATOR_PORT}/ready`,
    );
    const metering = commandOf(/start_process metering /);
    expect(metering).toMatch(new RegExp(`(^|\\s)HTTP_PORT=${METERING_PUBLIC_PORT}\\s`));
    expect(metering).toMatch(new RegExp(`(^|\\s)OPERATOR_HTTP_PORT=${METERING_OPERATOR_PORT}\\s`));
    expect(metering).not.toMatch(/OPERATOR_HTTP_HOST=/);
    expect(commandOf(/wait_ready metering /)).toContain(
      `http://127.0.0.1:${METERING_OPERATOR_PORT}/ready`,
    );
    expect(commandOf(/dist\/scripts\/seed-demo\.js/)).toMatch(
      new RegExp(`(^|\\s)ENTITLEMENT_URL=http://127\\.0\\.0\\.1:${OPERATOR_PORT}\\s`),
    );
  });

  it('the seed defaults to the operator port and prints operator calls on it', () => {
    expect(seedDemoSettings({}).operatorUrl).toBe(`http://127.0.0.1:${OPERATOR_PORT}`);
    const demo: DemoCustomer = {
      customerId: 'c1',
      apiKey: 'pg_live_x',
      apiKeyId: 'k1',
      planId: 'p1',
      subscriptionId: 's1',
    };
    const seedEnv = Object.fromEntries(
      Object.entries(services.seed.environment ?? {}).map(([k, v]) => [k, String(v)]),
    );
    for (const [env, base] of [
      [{}, `http://127.0.0.1:${OPERATOR_PORT}`],
      [{ ENTITLEMENT_URL: `http://10.0.0.5:${OPERATOR_PORT}` }, `http://10.0.0.5:${OPERATOR_PORT}`],
      [seedEnv, `http://localhost:${OPERATOR_PORT}`],
    ] as const) {
      const text = demoInstructions(demo, seedDemoSettings(env));
      expect(text).toContain(`curl -s ${base}/v1/customers/c1/balance`);
      expect(text).not.toMatch(new RegExp(`:${PUBLIC_PORT}/v1/`));
    }
  });
});
