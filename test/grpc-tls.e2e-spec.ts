import { status } from '@grpc/grpc-js';
import { grpcChannelCredentials } from '@paygate/config';
import { EntitlementGrpcClient, testConfig, testPayment } from '@paygate/testing';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { startDemoUpstream } from '../scripts/demo-upstream';
import { seedDemoCustomer } from '../scripts/seed-demo';
import { ADMIN_PORT_OFFSET, ADMIN_TOKEN, ARTIFACTS, RUN, Stack, eventually } from './support/stack';
import { createTlsFixtures, replaceFile, type TlsFixtures } from './support/tls-fixtures';

// Response bodies are read field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/**
 * The gateway ↔ entitlement gRPC link with TLS, as real processes, with certificates openssl
 * makes for this run: a gateway that trusts the service's CA serves and charges; a client in
 * plaintext or trusting another CA gets no answer, and RecordPayment credits nothing; with
 * GRPC_TLS_CLIENT_CA_FILE only clients with a certificate of that CA are answered; a gateway
 * that gets TLS wrong is not ready, says why, and serves nothing it would have to ask about,
 * not even on a route that fails open; and a bad TLS file stops a service at start.
 */
describe('entitlement gRPC over TLS (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 24701,
      entitlementGrpc: 24751,
      metering: 24702,
      gateway: 24780,
      upstream: 24740,
    },
    'grpc-tls-',
  );
  /** A second entitlement service, with mutual TLS, on the same database and topics. */
  const MUTUAL = { http: 24703, grpc: 24752 };
  const GATEWAYS = { plaintext: 24781, otherCa: 24782, mutual: 24783, rotated: 24784 };
  let files: TlsFixtures;
  let upstream: { server: Server; hits: () => number };
  const clients: EntitlementGrpcClient[] = [];

  /** A gRPC client of `port` with these TLS files (none: plaintext). */
  const grpcClient = (port: number, tls: { ca?: string; cert?: string; key?: string } = {}) => {
    const credentials = grpcChannelCredentials({
      tls: false,
      ca: { variable: 'ca', path: tls.ca },
      cert: { variable: 'cert', path: tls.cert },
      key: { variable: 'key', path: tls.key },
    });
    const client = new EntitlementGrpcClient(port, undefined, credentials);
    clients.push(client);
    return client;
  };
  const balance = (customerId: string) =>
    stack.operator<{ available: number; reserved: number }>(
      'GET',
      `/v1/customers/${customerId}/balance`,
    );
  const codeOf = (call: Promise<unknown>) =>
    call.then(
      () => status.OK,
      (err: { code: number }) => err.code,
    );
  const seed = (name: string) => seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 5, name);
  const get = (port: number, path: string, apiKey: string) =>
    fetch(`http://127.0.0.1:${port}${path}`, { headers: { 'x-api-key': apiKey } });
  /** This run's lines of a log file so far, from `offset` on. */
  const logFrom = (name: string) => {
    const file = join(ARTIFACTS, `grpc-tls-${name}.log`);
    const offset = existsSync(file) ? statSync(file).size : 0;
    return () => (existsSync(file) ? readFileSync(file, 'utf8').slice(offset) : '');
  };

  beforeAll(async () => {
    files = createTlsFixtures();
    upstream = await startDemoUpstream(stack.ports.upstream);
    await stack.start(['entitlement'], {
      GRPC_TLS_CERT_FILE: files.serverCert,
      GRPC_TLS_KEY_FILE: files.serverKey,
    });
    await stack.start(['metering', 'gateway'], { ENTITLEMENT_GRPC_CA_FILE: files.caCert });
    await stack.startInstance('entitlement-mutual', 'entitlement', MUTUAL.http, {
      GRPC_URL: `127.0.0.1:${MUTUAL.grpc}`,
      GRPC_TLS_CERT_FILE: files.serverCert,
      GRPC_TLS_KEY_FILE: files.serverKey,
      GRPC_TLS_CLIENT_CA_FILE: files.caCert,
      // The stack's entitlement group: the two share usage.recorded as replicas would.
      USAGE_RECORDED_GROUP_ID: `paygate-e2e-entitlement-${RUN}`,
    });
  }, 120_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await stack.stop();
    await new Promise((resolve) => upstream?.server.close(resolve));
    files?.remove();
  });

  it('serves and charges a request through a gateway that trusts the CA', async () => {
    const customer = await seed('TLS gateway');
    const hits = upstream.hits();
    const response = await get(stack.ports.gateway, '/demo/hello', customer.apiKey);
    expect(response.status).toBe(200);
    expect(upstream.hits()).toBe(hits + 1);
    expect((await fetch(`${stack.url('gateway')}/ready`)).status).toBe(200);
    // Charged once its lease settles (usage → metering → usage.recorded → entitlement).
    const charged = await eventually(
      () => balance(customer.customerId),
      (b) => b.reserved === 0 && b.available < 5,
    );
    expect(charged).toMatchObject({ available: 4, reserved: 0 });
  });

  it('answers no client in plaintext or trusting another CA: RecordPayment credits nothing', async () => {
    const customer = await seed('TLS refused clients');
    const before = await balance(customer.customerId);
    for (const client of [
      grpcClient(stack.ports.entitlementGrpc),
      grpcClient(stack.ports.entitlementGrpc, { ca: files.otherCaCert }),
    ]) {
      expect(await codeOf(client.check(customer.apiKey))).toBe(status.UNAVAILABLE);
      expect(await codeOf(client.recordPayment(testPayment(customer.customerId)))).toBe(
        status.UNAVAILABLE,
      );
    }
    expect(await balance(customer.customerId)).toEqual(before);

    // The same calls with the CA are answered: the port is up, and only TLS kept them out.
    const trusted = grpcClient(stack.ports.entitlementGrpc, { ca: files.caCert });
    const decision = await trusted.check(customer.apiKey);
    expect(decision.allowed).toBe(true);
    await trusted.release(decision.leaseId, 'e2e', 1);
    expect(await trusted.recordPayment(testPayment(customer.customerId))).toMatchObject({
      replayed: false,
    });
    expect(await balance(customer.customerId)).toMatchObject({ available: 5 + 7, reserved: 0 });
  });

  it('with GRPC_TLS_CLIENT_CA_FILE, answers only clients with a certificate of that CA', async () => {
    const customer = await seed('Mutual TLS');
    const before = await balance(customer.customerId);
    for (const client of [
      grpcClient(MUTUAL.grpc, { ca: files.caCert }),
      grpcClient(MUTUAL.grpc, {
        ca: files.caCert,
        cert: files.otherClientCert,
        key: files.otherClientKey,
      }),
    ]) {
      expect(await codeOf(client.check(customer.apiKey))).toBe(status.UNAVAILABLE);
      expect(await codeOf(client.recordPayment(testPayment(customer.customerId)))).toBe(
        status.UNAVAILABLE,
      );
    }
    expect(await balance(customer.customerId)).toEqual(before);

    const withCert = grpcClient(MUTUAL.grpc, {
      ca: files.caCert,
      cert: files.clientCert,
      key: files.clientKey,
    });
    const decision = await withCert.check(customer.apiKey);
    expect(decision.allowed).toBe(true);
    await withCert.release(decision.leaseId, 'e2e', 1);
    await withCert.recordPayment(testPayment(customer.customerId));
    expect(await balance(customer.customerId)).toMatchObject({ available: 5 + 7, reserved: 0 });

    // A gateway with its client certificate serves through that port.
    await stack.startInstance('gateway-mutual', 'gateway', GATEWAYS.mutual, {
      ENTITLEMENT_GRPC_URL: `127.0.0.1:${MUTUAL.grpc}`,
      ROUTES_FILE: stack.writeRoutes('grpc-tls-mutual', { demo: {} }),
      ENTITLEMENT_GRPC_CA_FILE: files.caCert,
      ENTITLEMENT_GRPC_CERT_FILE: files.clientCert,
      ENTITLEMENT_GRPC_KEY_FILE: files.clientKey,
    });
    const hits = upstream.hits();
    expect((await get(GATEWAYS.mutual, '/demo/hello', customer.apiKey)).status).toBe(200);
    expect(upstream.hits()).toBe(hits + 1);
  });

  it('a gateway in plaintext to the TLS port is not ready, says why, and serves nothing metered', async () => {
    const customer = await seed('Plaintext gateway');
    const before = await balance(customer.customerId);
    await stack.startInstance(
      'gateway-plaintext',
      'gateway',
      GATEWAYS.plaintext,
      {
        ENTITLEMENT_GRPC_URL: `127.0.0.1:${stack.ports.entitlementGrpc}`,
        // A route that fails open too: once the gateway knows the port speaks TLS (its
        // handshake probe), this is a misconfiguration, not an outage to serve through.
        ROUTES_FILE: stack.writeRoutes('grpc-tls-plaintext', {
          demo: {},
          open: { failurePolicy: 'open' },
        }),
      },
      'live',
    );
    const hits = upstream.hits();
    for (let i = 0; i < 2; i++) {
      const response = await get(GATEWAYS.plaintext, '/demo/hello', customer.apiKey);
      expect(response.status).toBe(503);
      expect(((await response.json()) as Json).code).toBe('ENTITLEMENT_UNAVAILABLE');
    }
    expect(upstream.hits()).toBe(hits);

    const body = await eventually(
      async () => (await fetch(`http://127.0.0.1:${GATEWAYS.plaintext}/ready`)).json() as Json,
      (b: Json) => /speaks TLS/.test(String(b.reasons?.entitlement)),
      15_000,
    );
    expect(body.checks.entitlement).toBe('failing');
    expect(body.reasons.entitlement).toBe(
      "no TLS connection to the entitlement service: the service's gRPC port speaks TLS " +
        '(GRPC_TLS_CERT_FILE there) and this gateway does not: set ENTITLEMENT_GRPC_TLS or ' +
        'ENTITLEMENT_GRPC_CA_FILE',
    );
    // Not the address: /ready is on the public port.
    expect(JSON.stringify(body)).not.toContain(String(stack.ports.entitlementGrpc));
    const openHits = upstream.hits();
    for (const path of ['/open/hello', '/open/hello', '/demo/hello']) {
      const response = await get(GATEWAYS.plaintext, path, customer.apiKey);
      expect(response.status).toBe(503);
      expect(((await response.json()) as Json).code).toBe('ENTITLEMENT_UNAVAILABLE');
    }
    expect(upstream.hits()).toBe(openHits);
    expect(await balance(customer.customerId)).toEqual(before);
  });

  it('a gateway trusting another CA fails closed on every route, is not ready, and logs why once', async () => {
    const customer = await seed('Other CA gateway');
    const before = await balance(customer.customerId);
    const log = logFrom('gateway-other-ca');
    await stack.startInstance(
      'gateway-other-ca',
      'gateway',
      GATEWAYS.otherCa,
      {
        ENTITLEMENT_GRPC_URL: `127.0.0.1:${stack.ports.entitlementGrpc}`,
        // A route that fails open too: a TLS failure is no outage to serve through.
        ROUTES_FILE: stack.writeRoutes('grpc-tls-other-ca', {
          demo: {},
          open: { failurePolicy: 'open' },
        }),
        ENTITLEMENT_GRPC_CA_FILE: files.otherCaCert,
      },
      'live',
    );
    const hits = upstream.hits();
    for (const path of ['/demo/hello', '/open/hello', '/open/hello']) {
      const response = await get(GATEWAYS.otherCa, path, customer.apiKey);
      expect(response.status).toBe(503);
      expect(((await response.json()) as Json).code).toBe('ENTITLEMENT_UNAVAILABLE');
    }
    expect(upstream.hits()).toBe(hits);

    // With a route that fails open, /ready does not wait for the channel; TLS fails it anyway.
    const ready = await fetch(`http://127.0.0.1:${GATEWAYS.otherCa}/ready`);
    const body = (await ready.json()) as Json;
    expect(ready.status).toBe(503);
    expect(body.reasons.entitlement).toBe(
      "no TLS connection to the entitlement service: the service's TLS certificate is not " +
        "signed by a CA this gateway trusts (ENTITLEMENT_GRPC_CA_FILE, or Node's trusted roots " +
        'without it)',
    );
    expect(await balance(customer.customerId)).toEqual(before);

    const lines = await eventually(
      async () => log(),
      (text) => text.includes('No TLS connection to the entitlement service'),
      10_000,
    );
    const errors = lines.split('\n').filter((l) => l.includes('No TLS connection'));
    expect(errors).toHaveLength(1);
    expect(JSON.parse(errors[0])).toMatchObject({
      level: 50,
      details: expect.stringMatching(/unable to verify the first certificate/),
    });
  });

  it('does not fail open when the service comes back with a certificate the gateway does not trust', async () => {
    const customer = await seed('Certificate changed');
    const port = GATEWAYS.rotated;
    await stack.startInstance('gateway-rotated', 'gateway', port, {
      ENTITLEMENT_GRPC_URL: `127.0.0.1:${stack.ports.entitlementGrpc}`,
      ROUTES_FILE: stack.writeRoutes('grpc-tls-rotated', { open: { failurePolicy: 'open' } }),
      ENTITLEMENT_GRPC_CA_FILE: files.caCert,
      // A lease per request: the next one must ask the service.
      LEASE_MAX_UNITS: '1',
      // The key's book (what failing open admits from) outlives the service's restart.
      LEASE_IDLE_MS: '120000',
    });
    // Admitted lately, which would let an outage through on this route.
    for (let i = 0; i < 2; i++)
      expect((await get(port, '/open/hello', customer.apiKey)).status).toBe(200);
    await stack.kill('entitlement');
    try {
      await stack.restart('entitlement', {
        GRPC_TLS_CERT_FILE: files.otherServerCert,
        GRPC_TLS_KEY_FILE: files.otherServerKey,
      });
      // Until its channel tries again (within 2 s) it knows only of the restart's outage, which
      // this route serves through: /ready tells once the handshake has failed.
      const ready = await eventually(
        async () => {
          const response = await fetch(`http://127.0.0.1:${port}/ready`);
          return { status: response.status, body: (await response.json()) as Json };
        },
        (r) => r.status === 503,
        20_000,
      );
      expect(ready.body.reasons.entitlement).toMatch(/not signed by a CA this gateway trusts/);
      const hits = upstream.hits();
      for (let i = 0; i < 2; i++) {
        const refused = await get(port, '/open/hello', customer.apiKey);
        expect(refused.status).toBe(503);
        expect(((await refused.json()) as Json).code).toBe('ENTITLEMENT_UNAVAILABLE');
      }
      expect(upstream.hits()).toBe(hits);
    } finally {
      await stack.kill('entitlement');
      await stack.restart('entitlement');
    }
    // The certificate it trusts again: ready, and serving, without a restart of the gateway.
    await eventually(
      async () => (await fetch(`http://127.0.0.1:${port}/ready`)).status,
      (s) => s === 200,
      20_000,
    );
    expect((await get(port, '/open/hello', customer.apiKey)).status).toBe(200);
    await stack.kill('gateway-rotated');
  }, 120_000);

  it('takes renewed TLS files without a restart, and keeps the last good ones on a bad renewal', async () => {
    const RENEWED = { http: 24704, grpc: 24753, gateway: 24785 };
    const cert = join(files.dir, 'renewed-server.pem');
    const key = join(files.dir, 'renewed-server.key');
    const ca = join(files.dir, 'renewed-ca.pem');
    copyFileSync(files.serverCert, cert);
    copyFileSync(files.serverKey, key);
    // The gateway starts trusting the wrong CA.
    copyFileSync(files.otherCaCert, ca);
    /** Whether the renewed service's gRPC port shows a certificate `trusted` signed. */
    const presentsCertOf = (trusted: string) =>
      new Promise<boolean>((resolve, reject) => {
        const socket = tlsConnect(
          {
            host: '127.0.0.1',
            port: RENEWED.grpc,
            servername: 'localhost',
            ALPNProtocols: ['h2'],
            ca: readFileSync(trusted),
            rejectUnauthorized: false,
          },
          () => {
            resolve(socket.authorized);
            socket.destroy();
          },
        );
        socket.once('error', reject);
      });
    const serviceLog = logFrom('entitlement-renewed');
    const gatewayLog = logFrom('gateway-renewed');
    await stack.startInstance('entitlement-renewed', 'entitlement', RENEWED.http, {
      GRPC_URL: `127.0.0.1:${RENEWED.grpc}`,
      GRPC_TLS_CERT_FILE: cert,
      GRPC_TLS_KEY_FILE: key,
      GRPC_TLS_RELOAD_MS: '200',
      USAGE_RECORDED_GROUP_ID: `paygate-e2e-entitlement-${RUN}`,
    });
    try {
      await stack.startInstance(
        'gateway-renewed',
        'gateway',
        RENEWED.gateway,
        {
          ENTITLEMENT_GRPC_URL: `127.0.0.1:${RENEWED.grpc}`,
          ROUTES_FILE: stack.writeRoutes('grpc-tls-renewed', { renewed: {} }),
          ENTITLEMENT_GRPC_CA_FILE: ca,
          ENTITLEMENT_GRPC_TLS_RELOAD_MS: '200',
          // A lease per request: every request below is a call over the gRPC link.
          LEASE_MAX_UNITS: '1',
        },
        'live',
      );
      const customer = await seed('Renewed TLS files');
      expect((await get(RENEWED.gateway, '/renewed/hello', customer.apiKey)).status).toBe(503);

      // The gateway's CA file put right: ready and serving, without a restart.
      replaceFile(files.caCert, ca);
      await eventually(
        async () => (await fetch(`http://127.0.0.1:${RENEWED.gateway}/ready`)).status,
        (s) => s === 200,
        20_000,
      );
      expect((await get(RENEWED.gateway, '/renewed/hello', customer.apiKey)).status).toBe(200);
      await eventually(
        async () => gatewayLog(),
        (text) =>
          text.includes(
            'entitlement gRPC link: renewed TLS files taken (ENTITLEMENT_GRPC_CA_FILE)',
          ),
        10_000,
      );

      // The service's certificate renewed (another CA's): new connections get it.
      expect(await presentsCertOf(files.caCert)).toBe(true);
      replaceFile(files.otherServerCert, cert);
      replaceFile(files.otherServerKey, key);
      expect(
        await eventually(
          () => presentsCertOf(files.otherCaCert),
          (ok) => ok,
          10_000,
        ),
      ).toBe(true);
      expect(await presentsCertOf(files.caCert)).toBe(false);
      // The gateway's connection from before the renewal keeps serving.
      expect((await get(RENEWED.gateway, '/renewed/hello', customer.apiKey)).status).toBe(200);

      // A renewal that replaced only the key: refused, logged as an error naming the variable
      // (never the key), counted, and the certificate taken before stays in use.
      replaceFile(files.serverKey, key);
      const refused = await eventually(
        async () => serviceLog(),
        (text) => text.includes('changed TLS files refused'),
        10_000,
      );
      const line = refused.split('\n').find((l) => l.includes('changed TLS files refused'))!;
      expect(JSON.parse(line)).toMatchObject({
        level: 50,
        msg: expect.stringMatching(
          /^gRPC port: changed TLS files refused, the ones read before stay in use: GRPC_TLS_KEY_FILE: is not the private key/,
        ),
      });
      const keyLines = readFileSync(files.serverKey, 'utf8')
        .split('\n')
        .filter((l) => l.length > 0 && !l.startsWith('-----'));
      for (const keyLine of keyLines) expect(serviceLog()).not.toContain(keyLine);
      expect(await presentsCertOf(files.otherCaCert)).toBe(true);
      const metrics = await (
        await fetch(`http://127.0.0.1:${RENEWED.http + ADMIN_PORT_OFFSET}/metrics`)
      ).text();
      expect(metrics).toMatch(
        /paygate_tls_reloads_total\{link="gRPC port",outcome="reloaded"\} 1\b/,
      );
      expect(metrics).toMatch(
        /paygate_tls_reloads_total\{link="gRPC port",outcome="refused"\} 1\b/,
      );
      // One JSON object per line, Node's own warnings included (a TLS connection to an IP
      // address makes it warn, DEP0123): what a log pipeline reads.
      for (const text of [serviceLog(), gatewayLog()])
        for (const logLine of text.split('\n').filter(Boolean))
          expect(() => JSON.parse(logLine) as unknown).not.toThrow();
      expect(gatewayLog()).toContain('"code":"DEP0123"');
    } finally {
      await stack.kill('gateway-renewed');
      await stack.kill('entitlement-renewed');
    }
  }, 120_000);

  it('stops a service at start on a bad TLS setting, naming the variable and never the key', () => {
    const config = testConfig();
    const start = (service: 'entitlement' | 'gateway', env: Record<string, string>) =>
      spawnSync(process.execPath, [join(__dirname, '..', `dist/apps/${service}/src/main.js`)], {
        env: {
          PATH: process.env.PATH ?? '',
          DATABASE_URL: config.databaseUrl,
          KAFKA_BROKERS: config.kafkaBrokers.join(','),
          ADMIN_TOKEN,
          // Ports nothing listens on: a service that got past its configuration would fail
          // differently, and never bind a port of this file's stack.
          HTTP_PORT: '24790',
          GRPC_URL: '127.0.0.1:24791',
          ...env,
        },
        encoding: 'utf8',
        timeout: 30_000,
      });
    const keyLines = readFileSync(files.serverKey, 'utf8')
      .split('\n')
      .filter((line) => line.length > 0 && !line.startsWith('-----'));

    for (const [service, env, message] of [
      [
        'entitlement',
        { GRPC_TLS_CERT_FILE: files.serverCert },
        /GRPC_TLS_KEY_FILE: required with GRPC_TLS_CERT_FILE/,
      ],
      [
        'entitlement',
        { GRPC_TLS_CERT_FILE: files.serverKey, GRPC_TLS_KEY_FILE: files.serverKey },
        /GRPC_TLS_CERT_FILE: .*server\.key holds no PEM certificate/,
      ],
      [
        'entitlement',
        {
          GRPC_TLS_CERT_FILE: files.serverCert,
          GRPC_TLS_KEY_FILE: files.serverKey,
          GRPC_TLS_CLIENT_CA_FILE: join(files.dir, 'missing.pem'),
        },
        /GRPC_TLS_CLIENT_CA_FILE: cannot read .*missing\.pem \(ENOENT\)/,
      ],
      [
        'gateway',
        { ENTITLEMENT_GRPC_KEY_FILE: files.serverKey },
        /ENTITLEMENT_GRPC_CERT_FILE: required with ENTITLEMENT_GRPC_KEY_FILE/,
      ],
      [
        'gateway',
        { ENTITLEMENT_GRPC_CA_FILE: files.notPem },
        /ENTITLEMENT_GRPC_CA_FILE: .*not-pem\.txt holds no PEM certificate/,
      ],
    ] as const) {
      const run = start(service, env);
      expect({ service, status: run.status }).toEqual({ service, status: 1 });
      expect(run.stderr).toMatch(message);
      for (const line of keyLines) expect(run.stderr + run.stdout).not.toContain(line);
    }
  });
});
