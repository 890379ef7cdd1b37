import { type AddressInfo, createServer } from 'node:net';
import {
  Server,
  ServerCredentials,
  loadPackageDefinition,
  status,
  type ServerUnaryCall,
  type ServiceDefinition,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { Logger } from '@nestjs/common';
import { type ClientGrpc, ClientProxyFactory, Transport } from '@nestjs/microservices';
import { grpcChannelCredentials, grpcServerCredentials } from '@paygate/config';
import {
  ENTITLEMENT_GRPC_PACKAGE,
  ENTITLEMENT_PROTO_LOADER_OPTIONS,
  ENTITLEMENT_PROTO_PATH,
} from '@paygate/contracts';
import { createTlsFixtures, type TlsFixtures } from '@test/tls-fixtures';
import type { GatewayConfig } from '../config/gateway.config';
import { EntitlementClient, EntitlementUnavailableError } from './entitlement.client';

/**
 * The gateway's client against grpc-js servers with and without TLS (certificates made by
 * openssl for this run): what each way of getting TLS wrong looks like to a request (an
 * unavailable service; no failing open when it is TLS) and to /ready (why, in words to act on).
 */
describe('EntitlementClient: TLS', () => {
  let files: TlsFixtures;
  const servers: Server[] = [];
  const proxies: { close(): unknown }[] = [];
  let ports: { plain: number; tls: number; mutual: number };
  const ask = { apiKey: 'k', feature: 'f', cost: 1, requestId: 'r', requiredScopes: [] };

  const answer =
    <T>(value: T) =>
    (_call: ServerUnaryCall<unknown, T>, callback: sendUnaryData<T>) =>
      callback(null, value);

  const listen = async (credentials: ServerCredentials): Promise<number> => {
    const definition = loadSync(ENTITLEMENT_PROTO_PATH, { ...ENTITLEMENT_PROTO_LOADER_OPTIONS });
    const pkg = loadPackageDefinition(definition) as unknown as {
      paygate: { entitlement: { v1: { EntitlementService: { service: ServiceDefinition } } } };
    };
    const server = new Server();
    server.addService(pkg.paygate.entitlement.v1.EntitlementService.service, {
      check: answer({ allowed: true, customerId: 'c-1' }),
      closeLeases: answer({ closed: 0 }),
    });
    servers.push(server);
    return new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', credentials, (err, bound) =>
        err ? reject(err) : resolve(bound),
      ),
    );
  };

  /** A gateway's client of `port`, with these of its TLS settings (file paths). */
  const clientOf = (
    port: number,
    tls: { tls?: boolean; ca?: string; cert?: string; key?: string; serverName?: string },
  ) => {
    const settings = {
      tls: tls.tls ?? false,
      ca: { variable: 'ENTITLEMENT_GRPC_CA_FILE', path: tls.ca },
      cert: { variable: 'ENTITLEMENT_GRPC_CERT_FILE', path: tls.cert },
      key: { variable: 'ENTITLEMENT_GRPC_KEY_FILE', path: tls.key },
    };
    const proxy = ClientProxyFactory.create({
      transport: Transport.GRPC,
      options: {
        package: ENTITLEMENT_GRPC_PACKAGE,
        protoPath: ENTITLEMENT_PROTO_PATH,
        url: `127.0.0.1:${port}`,
        loader: { ...ENTITLEMENT_PROTO_LOADER_OPTIONS },
        credentials: grpcChannelCredentials(settings),
        channelOptions: tls.serverName ? { 'grpc.ssl_target_name_override': tls.serverName } : {},
      },
    }) as ClientGrpc & { close(): unknown };
    proxies.push(proxy);
    const client = new EntitlementClient(proxy, {
      DECISION_TIMEOUT_MS: 2000,
      PAYMENT_CALL_TIMEOUT_MS: 2000,
      ENTITLEMENT_GRPC_URL: `127.0.0.1:${port}`,
      entitlementGrpcTls: Boolean(tls.tls || tls.ca || tls.cert),
    } as GatewayConfig);
    client.onModuleInit();
    return client;
  };
  const failure = (client: EntitlementClient) =>
    client.check(ask).then(
      () => undefined,
      (err: unknown) => err,
    );

  beforeAll(async () => {
    files = createTlsFixtures();
    const server = (clientCa?: string) =>
      grpcServerCredentials({
        cert: { variable: 'GRPC_TLS_CERT_FILE', path: files.serverCert },
        key: { variable: 'GRPC_TLS_KEY_FILE', path: files.serverKey },
        clientCa: { variable: 'GRPC_TLS_CLIENT_CA_FILE', path: clientCa },
      });
    ports = {
      plain: await listen(ServerCredentials.createInsecure()),
      tls: await listen(server()),
      mutual: await listen(server(files.caCert)),
    };
  });
  /** The client's error log, kept out of the test output. */
  let errors: jest.SpyInstance;
  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => {
    jest.restoreAllMocks();
    for (const proxy of proxies.splice(0)) proxy.close();
  });
  afterAll(async () => {
    await Promise.all(
      servers.map((s) => new Promise<void>((resolve) => s.tryShutdown(() => resolve()))),
    );
    files.remove();
  });

  it('asks and is ready through TLS with the CA that signed the certificate', async () => {
    const client = clientOf(ports.tls, { ca: files.caCert });
    expect(await client.check(ask)).toMatchObject({ allowed: true });
    await expect(client.reachable()).resolves.toBeUndefined();
    await expect(client.authenticated()).resolves.toBeUndefined();
  });

  it('trusting another CA: unavailable, no failing open, one error logged, /ready says why', async () => {
    const client = clientOf(ports.tls, { ca: files.otherCaCert });
    for (let i = 0; i < 3; i++) {
      const err = await failure(client);
      expect(err).toBeInstanceOf(EntitlementUnavailableError);
      expect(err).toMatchObject({ code: status.UNAVAILABLE, misconfigured: true });
      expect((err as EntitlementUnavailableError).tlsFailure).toMatch(
        /not signed by a CA this gateway trusts/,
      );
    }
    expect(errors).toHaveBeenCalledTimes(1);
    expect(errors.mock.calls[0][1]).toMatch(
      /No TLS connection to the entitlement service: .*not signed by a CA .*ENTITLEMENT_GRPC_CA_FILE/,
    );
    await expect(client.authenticated()).rejects.toThrow(
      "no TLS connection to the entitlement service: the service's TLS certificate is not signed by a CA this gateway trusts",
    );
    await expect(client.reachable(300)).rejects.toThrow(
      /gRPC channel is TRANSIENT_FAILURE: the service's TLS certificate is not signed by a CA/,
    );
  });

  it('trusting only Node’s roots (ENTITLEMENT_GRPC_TLS alone): the private CA is not among them', async () => {
    const err = await failure(clientOf(ports.tls, { tls: true }));
    expect(err).toMatchObject({ misconfigured: true });
    expect((err as EntitlementUnavailableError).tlsFailure).toMatch(/not signed by a CA/);
  });

  it('with a server name the certificate does not hold: refused, naming ENTITLEMENT_GRPC_SERVER_NAME', async () => {
    const wrong = clientOf(ports.tls, { ca: files.caCert, serverName: 'entitlement.internal' });
    const err = await failure(wrong);
    expect((err as EntitlementUnavailableError).tlsFailure).toMatch(
      /does not name the host .*ENTITLEMENT_GRPC_SERVER_NAME/,
    );
    const right = clientOf(ports.tls, { ca: files.caCert, serverName: 'localhost' });
    expect(await right.check(ask)).toMatchObject({ allowed: true });
  });

  it('in plaintext to a TLS port: unavailable, and /ready hints at ENTITLEMENT_GRPC_TLS', async () => {
    const client = clientOf(ports.tls, {});
    const err = await failure(client);
    expect(err).toBeInstanceOf(EntitlementUnavailableError);
    expect(err).toMatchObject({ code: status.UNAVAILABLE });
    await expect(client.reachable(300)).rejects.toThrow(
      /TRANSIENT_FAILURE: the service closed the connection before gRPC started: if its gRPC port speaks TLS \(GRPC_TLS_CERT_FILE\), set ENTITLEMENT_GRPC_TLS/,
    );
  });

  it('in plaintext to a TLS port: once its handshake probe answers, no failing open', async () => {
    const client = clientOf(ports.tls, {});
    let err: unknown;
    for (let i = 0; i < 40; i++) {
      err = await failure(client);
      if ((err as EntitlementUnavailableError).misconfigured) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(err).toMatchObject({ code: status.UNAVAILABLE, misconfigured: true });
    await expect(client.authenticated()).rejects.toThrow(
      /gRPC port speaks TLS .*ENTITLEMENT_GRPC_TLS/,
    );
    expect(errors).toHaveBeenCalledTimes(1);
  });

  it('in plaintext to a port that closes every connection (no TLS there): an outage', async () => {
    // What a load balancer without a healthy backend may do: accept, then close at once.
    const closer = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => closer.listen(0, '127.0.0.1', resolve));
    try {
      const client = clientOf((closer.address() as AddressInfo).port, {});
      for (let i = 0; i < 15; i++) {
        expect(await failure(client)).toMatchObject({
          code: status.UNAVAILABLE,
          misconfigured: false,
        });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(errors).not.toHaveBeenCalled();
    } finally {
      closer.close();
    }
  });

  it('with TLS to a plaintext port: no failing open, and /ready says the port does not speak TLS', async () => {
    const client = clientOf(ports.plain, { ca: files.caCert });
    const err = await failure(client);
    expect(err).toMatchObject({ code: status.UNAVAILABLE, misconfigured: true });
    await expect(client.authenticated()).rejects.toThrow(
      /gRPC port does not speak TLS \(GRPC_TLS_CERT_FILE unset there\)/,
    );
  });

  it('to a port with mutual TLS: refused without a client certificate, taken with one', async () => {
    const without = clientOf(ports.mutual, { ca: files.caCert });
    const err = await failure(without);
    expect(err).toMatchObject({ code: status.UNAVAILABLE, misconfigured: true });
    await expect(without.authenticated()).rejects.toThrow(
      /requires a client certificate .*ENTITLEMENT_GRPC_CERT_FILE and ENTITLEMENT_GRPC_KEY_FILE/,
    );

    const other = clientOf(ports.mutual, {
      ca: files.caCert,
      cert: files.otherClientCert,
      key: files.otherClientKey,
    });
    expect(await failure(other)).toMatchObject({ code: status.UNAVAILABLE });
    await expect(other.reachable(300)).rejects.toThrow(/TRANSIENT_FAILURE: /);

    const client = clientOf(ports.mutual, {
      ca: files.caCert,
      cert: files.clientCert,
      key: files.clientKey,
    });
    expect(await client.check(ask)).toMatchObject({ allowed: true });
    await expect(client.authenticated()).resolves.toBeUndefined();
  });
});
