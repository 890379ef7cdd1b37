import {
  type ChannelCredentials,
  Server,
  type ServerCredentials,
  type ServiceDefinition,
  makeGenericClientConstructor,
  status,
} from '@grpc/grpc-js';
import { createTlsFixtures, replaceFile, type TlsFixtures } from '@test/tls-fixtures';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { ConfigError } from './load-config';
import {
  type GrpcChannelTlsSettings,
  type GrpcServerTlsSettings,
  grpcChannelCredentials,
  grpcServerCredentials,
} from './grpc-tls';
import { PemFilesWatch, type TlsMaterial, type TlsReload, type TlsReloadEvent } from './tls-reload';

/** One unary method with JSON messages: enough to see whether a handshake lets a call through. */
const ECHO: ServiceDefinition = {
  echo: {
    path: '/test.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
    requestDeserialize: (b: Buffer): unknown => JSON.parse(b.toString()),
    responseSerialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
    responseDeserialize: (b: Buffer): unknown => JSON.parse(b.toString()),
  },
};
const EchoClient = makeGenericClientConstructor(ECHO, 'Echo');

describe('gRPC TLS credentials', () => {
  let files: TlsFixtures;
  const servers: Server[] = [];

  beforeAll(() => {
    files = createTlsFixtures();
  });
  afterAll(async () => {
    await Promise.all(
      servers.map((s) => new Promise<void>((resolve) => s.tryShutdown(() => resolve()))),
    );
    files.remove();
  });

  const server = (
    settings: Partial<Record<keyof GrpcServerTlsSettings, string>>,
    reload?: TlsReload,
  ) =>
    grpcServerCredentials(
      {
        cert: { variable: 'GRPC_TLS_CERT_FILE', path: settings.cert },
        key: { variable: 'GRPC_TLS_KEY_FILE', path: settings.key },
        clientCa: { variable: 'GRPC_TLS_CLIENT_CA_FILE', path: settings.clientCa },
      },
      reload,
    );
  const channel = (
    settings: Partial<Record<Exclude<keyof GrpcChannelTlsSettings, 'tls'>, string>> & {
      tls?: boolean;
    },
    reload?: TlsReload,
  ) =>
    grpcChannelCredentials(
      {
        tls: settings.tls ?? false,
        ca: { variable: 'ENTITLEMENT_GRPC_CA_FILE', path: settings.ca },
        cert: { variable: 'ENTITLEMENT_GRPC_CERT_FILE', path: settings.cert },
        key: { variable: 'ENTITLEMENT_GRPC_KEY_FILE', path: settings.key },
      },
      reload,
    );
  /** The ConfigError's message, or a failure saying there was none. */
  const errorOf = (build: () => unknown): string => {
    try {
      build();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('no ConfigError was thrown');
  };

  const listen = async (credentials: ServerCredentials): Promise<number> => {
    const s = new Server();
    s.addService(ECHO, {
      echo: (_call: unknown, callback: (err: null, value: unknown) => void) =>
        callback(null, { ok: true }),
    });
    servers.push(s);
    return new Promise<number>((resolve, reject) =>
      s.bindAsync('127.0.0.1:0', credentials, (err, port) => (err ? reject(err) : resolve(port))),
    );
  };
  /** OK, or the gRPC status a call got. */
  const callStatus = (port: number, credentials: ChannelCredentials): Promise<status> => {
    const client = new EchoClient(`localhost:${port}`, credentials);
    return new Promise<status>((resolve) =>
      client.makeUnaryRequest(
        '/test.Echo/Echo',
        (v: unknown) => Buffer.from(JSON.stringify(v)),
        (b: Buffer): unknown => JSON.parse(b.toString()),
        {},
        { deadline: Date.now() + 3000 },
        (err) => {
          client.close();
          resolve(err ? err.code : status.OK);
        },
      ),
    );
  };

  it('is plaintext on both sides with nothing set', async () => {
    const port = await listen(server({}));
    expect(await callStatus(port, channel({}))).toBe(status.OK);
    expect(await callStatus(port, channel({ tls: true, ca: files.caCert }))).toBe(
      status.UNAVAILABLE,
    );
  });

  it('speaks TLS only with a certificate and key; clients must trust its CA', async () => {
    const port = await listen(server({ cert: files.serverCert, key: files.serverKey }));
    expect(await callStatus(port, channel({ ca: files.caCert }))).toBe(status.OK);
    expect(await callStatus(port, channel({}))).toBe(status.UNAVAILABLE);
    expect(await callStatus(port, channel({ ca: files.otherCaCert }))).toBe(status.UNAVAILABLE);
    // Node's roots do not know the test CA.
    expect(await callStatus(port, channel({ tls: true }))).toBe(status.UNAVAILABLE);
  });

  it('takes only clients with a certificate its client CA signed (mutual TLS)', async () => {
    const port = await listen(
      server({ cert: files.serverCert, key: files.serverKey, clientCa: files.caCert }),
    );
    const withCert = channel({ ca: files.caCert, cert: files.clientCert, key: files.clientKey });
    expect(await callStatus(port, withCert)).toBe(status.OK);
    expect(await callStatus(port, channel({ ca: files.caCert }))).toBe(status.UNAVAILABLE);
    const otherCert = channel({
      ca: files.caCert,
      cert: files.otherClientCert,
      key: files.otherClientKey,
    });
    expect(await callStatus(port, otherCert)).toBe(status.UNAVAILABLE);
  });

  it('refuses half a pair, naming the variable that is missing', () => {
    expect(errorOf(() => server({ cert: files.serverCert }))).toMatch(
      /GRPC_TLS_KEY_FILE: required with GRPC_TLS_CERT_FILE/,
    );
    expect(errorOf(() => server({ key: files.serverKey }))).toMatch(
      /GRPC_TLS_CERT_FILE: required with GRPC_TLS_KEY_FILE/,
    );
    expect(errorOf(() => channel({ cert: files.clientCert }))).toMatch(
      /ENTITLEMENT_GRPC_KEY_FILE: required with ENTITLEMENT_GRPC_CERT_FILE/,
    );
    expect(errorOf(() => channel({ key: files.clientKey }))).toMatch(
      /ENTITLEMENT_GRPC_CERT_FILE: required with ENTITLEMENT_GRPC_KEY_FILE/,
    );
  });

  it('refuses a client CA without the server certificate: mutual TLS is TLS first', () => {
    expect(errorOf(() => server({ clientCa: files.caCert }))).toMatch(
      /GRPC_TLS_CLIENT_CA_FILE: needs GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE/,
    );
  });

  it('refuses a missing or unreadable file, naming the variable, the path and why', () => {
    const missing = `${files.dir}/nowhere.pem`;
    expect(errorOf(() => server({ cert: missing, key: files.serverKey }))).toMatch(
      `GRPC_TLS_CERT_FILE: cannot read ${missing} (ENOENT)`,
    );
    expect(errorOf(() => channel({ ca: files.dir }))).toMatch(
      `ENTITLEMENT_GRPC_CA_FILE: cannot read ${files.dir} (EISDIR)`,
    );
  });

  it('refuses a file that is not PEM, or not the PEM it should be', () => {
    expect(errorOf(() => server({ cert: files.notPem, key: files.serverKey }))).toMatch(
      /GRPC_TLS_CERT_FILE: .*not-pem\.txt holds no PEM certificate/,
    );
    expect(errorOf(() => server({ cert: files.serverCert, key: files.notPem }))).toMatch(
      /GRPC_TLS_KEY_FILE: .*not-pem\.txt holds no unencrypted PEM private key/,
    );
    expect(errorOf(() => channel({ ca: files.notPem }))).toMatch(
      /ENTITLEMENT_GRPC_CA_FILE: .*holds no PEM certificate/,
    );
    // A key where the certificate belongs, and the other way round.
    expect(errorOf(() => server({ cert: files.serverKey, key: files.serverKey }))).toMatch(
      /GRPC_TLS_CERT_FILE: .*server\.key holds no PEM certificate/,
    );
    expect(errorOf(() => server({ cert: files.serverCert, key: files.serverCert }))).toMatch(
      /GRPC_TLS_KEY_FILE: .*server\.pem holds no unencrypted PEM private key/,
    );
  });

  it('refuses a certificate block that does not parse', () => {
    const broken = `${files.dir}/broken.pem`;
    const pem = readFileSync(files.caCert, 'utf8');
    const body = pem.split('\n')[1];
    writeFileSync(broken, pem.replace(body, body.replace(/[A-Za-z]/g, 'A')));
    expect(errorOf(() => channel({ ca: broken }))).toMatch(
      /ENTITLEMENT_GRPC_CA_FILE: certificate 1 in .*broken\.pem is not a valid X\.509 one/,
    );
  });

  it('refuses a key that is not the certificate’s', () => {
    expect(errorOf(() => server({ cert: files.serverCert, key: files.clientKey }))).toMatch(
      /GRPC_TLS_KEY_FILE: is not the private key of GRPC_TLS_CERT_FILE's certificate/,
    );
  });

  it('names every variable at fault at once, and never prints a key', () => {
    const message = errorOf(() =>
      server({ cert: files.serverKey, key: files.notPem, clientCa: files.notPem }),
    );
    expect(message).toMatch(/^Invalid configuration:\n/);
    for (const variable of ['GRPC_TLS_CERT_FILE', 'GRPC_TLS_KEY_FILE', 'GRPC_TLS_CLIENT_CA_FILE'])
      expect(message).toContain(`  ${variable}: `);
    const keyLines = readFileSync(files.serverKey, 'utf8')
      .split('\n')
      .filter((line) => line.length > 0 && !line.startsWith('-----'));
    expect(keyLines.length).toBeGreaterThan(0);
    for (const line of keyLines) expect(message).not.toContain(line);
  });
  describe('renewed files, without a restart', () => {
    /** A reload every 50 ms whose events are kept, and a wait for the next one of them. */
    const watching = () => {
      const events: TlsReloadEvent[] = [];
      const reload: TlsReload = { intervalMs: 50, report: (e) => events.push(e) };
      const next = async (count: number): Promise<TlsReloadEvent> => {
        for (let waited = 0; events.length < count; waited += 25) {
          if (waited > 5000) throw new Error(`no reload event ${count} in 5 s`);
          await new Promise((r) => setTimeout(r, 25));
        }
        return events[count - 1];
      };
      return { events, reload, next };
    };
    /** A call on a client that stays (its channel and connection), and the status it got. */
    const statusOn = (client: InstanceType<typeof EchoClient>) =>
      new Promise<status>((resolve) =>
        client.makeUnaryRequest(
          '/test.Echo/Echo',
          (v: unknown) => Buffer.from(JSON.stringify(v)),
          (b: Buffer): unknown => JSON.parse(b.toString()),
          {},
          { deadline: Date.now() + 1000 },
          (err) => resolve(err ? err.code : status.OK),
        ),
      );
    /** Calls until one gets `expected` (a channel retries its connection with backoff). */
    const eventuallyStatus = async (get: () => Promise<status>, expected: status) => {
      let last = await get();
      for (let i = 0; last !== expected && i < 40; i++) {
        await new Promise((r) => setTimeout(r, 100));
        last = await get();
      }
      return last;
    };

    it('a server takes a renewed certificate and key for new connections', async () => {
      const cert = `${files.dir}/renewed-server.pem`;
      const key = `${files.dir}/renewed-server.key`;
      copyFileSync(files.serverCert, cert);
      copyFileSync(files.serverKey, key);
      const { events, reload, next } = watching();
      const port = await listen(server({ cert, key }, reload));
      expect(await callStatus(port, channel({ ca: files.caCert }))).toBe(status.OK);
      expect(await callStatus(port, channel({ ca: files.otherCaCert }))).toBe(status.UNAVAILABLE);

      replaceFile(files.otherServerCert, cert);
      replaceFile(files.otherServerKey, key);
      expect(await next(1)).toEqual({
        outcome: 'reloaded',
        variables: ['GRPC_TLS_CERT_FILE', 'GRPC_TLS_KEY_FILE'],
      });
      expect(await callStatus(port, channel({ ca: files.otherCaCert }))).toBe(status.OK);
      expect(await callStatus(port, channel({ ca: files.caCert }))).toBe(status.UNAVAILABLE);
      await new Promise((r) => setTimeout(r, 200));
      expect(events).toHaveLength(1);
    });

    it('refuses a renewal that fails the checks and keeps serving with what it had', async () => {
      const cert = `${files.dir}/refused-server.pem`;
      const key = `${files.dir}/refused-server.key`;
      copyFileSync(files.serverCert, cert);
      copyFileSync(files.serverKey, key);
      const { reload, next } = watching();
      const port = await listen(server({ cert, key }, reload));

      // A key that is not the certificate's (a rotation that replaced only one of them).
      replaceFile(files.otherServerKey, key);
      const refused = await next(1);
      expect(refused).toEqual({
        outcome: 'refused',
        problems: ["GRPC_TLS_KEY_FILE: is not the private key of GRPC_TLS_CERT_FILE's certificate"],
      });
      expect(await callStatus(port, channel({ ca: files.caCert }))).toBe(status.OK);
      // Not PEM at all: named, never quoted.
      writeFileSync(key, readFileSync(files.notPem));
      expect(await next(2)).toMatchObject({
        outcome: 'refused',
        problems: [expect.stringMatching(/^GRPC_TLS_KEY_FILE: .* holds no unencrypted PEM/)],
      });
      expect(await callStatus(port, channel({ ca: files.caCert }))).toBe(status.OK);
      // Put right: taken.
      replaceFile(files.otherServerCert, cert);
      replaceFile(files.otherServerKey, key);
      expect(await next(3)).toMatchObject({ outcome: 'reloaded' });
      expect(await callStatus(port, channel({ ca: files.otherCaCert }))).toBe(status.OK);
    });

    it('a client takes a renewed CA bundle on the channel it has', async () => {
      const port = await listen(server({ cert: files.serverCert, key: files.serverKey }));
      const ca = `${files.dir}/renewed-ca.pem`;
      copyFileSync(files.otherCaCert, ca);
      const { reload, next } = watching();
      const client = new EchoClient(`localhost:${port}`, channel({ ca }, reload));
      const call = () => statusOn(client);
      try {
        expect(await call()).toBe(status.UNAVAILABLE);
        replaceFile(files.caCert, ca);
        expect(await next(1)).toEqual({
          outcome: 'reloaded',
          variables: ['ENTITLEMENT_GRPC_CA_FILE'],
        });
        expect(await eventuallyStatus(call, status.OK)).toBe(status.OK);
      } finally {
        client.close();
      }
    });

    it('a client takes a renewed client certificate for mutual TLS', async () => {
      const port = await listen(
        server({ cert: files.serverCert, key: files.serverKey, clientCa: files.caCert }),
      );
      const cert = `${files.dir}/renewed-client.pem`;
      const key = `${files.dir}/renewed-client.key`;
      copyFileSync(files.otherClientCert, cert);
      copyFileSync(files.otherClientKey, key);
      const { reload, next } = watching();
      const client = new EchoClient(
        `localhost:${port}`,
        channel({ ca: files.caCert, cert, key }, reload),
      );
      const call = () => statusOn(client);
      try {
        expect(await call()).toBe(status.UNAVAILABLE);
        replaceFile(files.clientCert, cert);
        replaceFile(files.clientKey, key);
        expect(await next(1)).toMatchObject({ outcome: 'reloaded' });
        expect(await eventuallyStatus(call, status.OK)).toBe(status.OK);
      } finally {
        client.close();
      }
    });

    describe('the watch of the files (its looks made by hand)', () => {
      /** Two files, a watch of them whose reads are `outcomes` in turn, and what it reported. */
      const watchOf = (
        name: string,
        outcomes: ({ material: TlsMaterial } | { problems: string[] })[],
      ) => {
        const [a, b] = ['a', 'b'].map((f) => `${files.dir}/${name}-${f}.pem`);
        copyFileSync(files.caCert, a);
        copyFileSync(files.caCert, b);
        const events: TlsReloadEvent[] = [];
        const applied: TlsMaterial[] = [];
        let reads = 0;
        const watch = new PemFilesWatch(
          [
            { variable: 'A_FILE', path: a },
            { variable: 'B_FILE', path: b },
          ],
          () => {
            const outcome = outcomes[Math.min(reads++, outcomes.length - 1)];
            return 'material' in outcome
              ? { material: outcome.material, problems: [] }
              : { problems: outcome.problems };
          },
          { intervalMs: 60_000, report: (e) => events.push(e) },
        );
        watch.start((m) => applied.push(m));
        return { a, b, watch, events, applied, reads: () => reads };
      };
      const material: TlsMaterial = { ca: Buffer.from('renewed') };

      it('reads a change only once it held still for a look: a rotation is not read half done', () => {
        const w = watchOf('settle', [{ material }]);
        try {
          w.watch.look();
          expect(w.reads()).toBe(0);
          replaceFile(files.otherCaCert, w.a);
          w.watch.look(); // the first file renewed: seen, not read
          replaceFile(files.otherCaCert, w.b);
          w.watch.look(); // the second too: changed again since, not read
          expect(w.reads()).toBe(0);
          w.watch.look(); // as at the look before: read and taken
          expect(w.reads()).toBe(1);
          expect(w.applied).toEqual([material]);
          expect(w.events).toEqual([{ outcome: 'reloaded', variables: ['A_FILE', 'B_FILE'] }]);
          w.watch.look();
          expect(w.reads()).toBe(1);
        } finally {
          w.watch.stop();
        }
      });

      it('reads refused files again at every look, reporting only what is new', () => {
        const w = watchOf('refused', [
          { problems: ['A_FILE: cannot read it (EMFILE)'] },
          { problems: ['A_FILE: cannot read it (EMFILE)'] },
          { problems: ['A_FILE: cannot read it (EIO)'] },
          { material },
        ]);
        try {
          replaceFile(files.otherCaCert, w.a);
          w.watch.look();
          w.watch.look();
          expect(w.events).toEqual([
            { outcome: 'refused', problems: ['A_FILE: cannot read it (EMFILE)'] },
          ]);
          w.watch.look(); // the same files, the same reason: read, not reported again
          expect(w.reads()).toBe(2);
          expect(w.events).toHaveLength(1);
          w.watch.look(); // another reason: reported
          expect(w.events[1]).toEqual({
            outcome: 'refused',
            problems: ['A_FILE: cannot read it (EIO)'],
          });
          w.watch.look(); // read at last: taken, though the files did not change
          expect(w.events[2]).toMatchObject({ outcome: 'reloaded' });
          expect(w.applied).toEqual([material]);
          w.watch.look();
          expect(w.reads()).toBe(4);
        } finally {
          w.watch.stop();
        }
      });

      it('looks only between start and stop', () => {
        const w = watchOf('start-stop', [{ material }]);
        expect(w.watch.watching).toBe(true);
        w.watch.start(() => undefined);
        expect(w.watch.watching).toBe(true);
        w.watch.stop();
        expect(w.watch.watching).toBe(false);
      });
    });

    it('stops looking once the server that used them has shut down', async () => {
      const cert = `${files.dir}/shutdown-server.pem`;
      const key = `${files.dir}/shutdown-server.key`;
      copyFileSync(files.serverCert, cert);
      copyFileSync(files.serverKey, key);
      const { events, reload } = watching();
      const s = new Server();
      s.addService(ECHO, {
        echo: (_c: unknown, cb: (e: null, v: unknown) => void) => cb(null, {}),
      });
      await new Promise<number>((resolve, reject) =>
        s.bindAsync('127.0.0.1:0', server({ cert, key }, reload), (err, port) =>
          err ? reject(err) : resolve(port),
        ),
      );
      await new Promise<void>((resolve) => s.tryShutdown(() => resolve()));
      replaceFile(files.otherServerCert, cert);
      replaceFile(files.otherServerKey, key);
      await new Promise((r) => setTimeout(r, 300));
      expect(events).toEqual([]);
    });

    it('reads the files once when the interval is 0', async () => {
      const cert = `${files.dir}/once-server.pem`;
      const key = `${files.dir}/once-server.key`;
      copyFileSync(files.serverCert, cert);
      copyFileSync(files.serverKey, key);
      const events: TlsReloadEvent[] = [];
      const port = await listen(
        server({ cert, key }, { intervalMs: 0, report: (e) => events.push(e) }),
      );
      replaceFile(files.otherServerCert, cert);
      replaceFile(files.otherServerKey, key);
      await new Promise((r) => setTimeout(r, 300));
      expect(events).toEqual([]);
      expect(await callStatus(port, channel({ ca: files.caCert }))).toBe(status.OK);
    });
  });
});
