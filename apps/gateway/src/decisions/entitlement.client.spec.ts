import {
  Server,
  ServerCredentials,
  loadPackageDefinition,
  status,
  type ServerUnaryCall,
  type sendUnaryData,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { Logger } from '@nestjs/common';
import { type ClientGrpc, ClientProxyFactory, Transport } from '@nestjs/microservices';
import {
  ENTITLEMENT_GRPC_PACKAGE,
  ENTITLEMENT_PROTO_LOADER_OPTIONS,
  ENTITLEMENT_PROTO_PATH,
  type RecordPaymentRequest,
  type RecordPaymentResponse,
} from '@paygate/contracts';
import { metricsRegistry } from '@paygate/observability';
import type { GatewayConfig } from '../config/gateway.config';
import {
  EntitlementClient,
  EntitlementRefusedError,
  EntitlementUnavailableError,
} from './entitlement.client';

type Handler = (
  call: ServerUnaryCall<RecordPaymentRequest, RecordPaymentResponse>,
  callback: sendUnaryData<RecordPaymentResponse>,
) => void;

const payment: RecordPaymentRequest = {
  customerId: '6f1c1f38-3f7e-4bd5-9a51-4c3c2f0a9b10',
  paymentId: 'paygate:test:0xabc:42',
  credits: 25,
  network: 'paygate:test',
  asset: 'USD',
  amount: '123456789012345678901234567890',
  payer: '0xabc',
  transaction: 'tx-1',
  requestId: 'req-1',
};

/** The real proto over a local grpc-js server, with RecordPayment answered by `handler`. */
describe('EntitlementClient.recordPayment', () => {
  const timeoutMs = 300;
  let server: Server;
  let port: number;
  let handler: Handler;
  let checkHandler: (callback: sendUnaryData<unknown>) => void = (cb) =>
    cb({ code: status.UNIMPLEMENTED });
  let proxy: ClientGrpc & { close(): unknown };

  const clientFor = (
    url: string,
    timeouts: Partial<GatewayConfig> = { PAYMENT_CALL_TIMEOUT_MS: timeoutMs },
  ) => {
    proxy = ClientProxyFactory.create({
      transport: Transport.GRPC,
      options: {
        package: ENTITLEMENT_GRPC_PACKAGE,
        protoPath: ENTITLEMENT_PROTO_PATH,
        url,
        loader: { ...ENTITLEMENT_PROTO_LOADER_OPTIONS },
      },
    });
    const client = new EntitlementClient(proxy, {
      DECISION_TIMEOUT_MS: timeoutMs,
      ...timeouts,
    } as GatewayConfig);
    client.onModuleInit();
    return client;
  };

  beforeAll(async () => {
    const definition = loadSync(ENTITLEMENT_PROTO_PATH, { ...ENTITLEMENT_PROTO_LOADER_OPTIONS });
    const pkg = loadPackageDefinition(definition) as unknown as {
      paygate: { entitlement: { v1: { EntitlementService: { service: ServiceDefinition } } } };
    };
    server = new Server();
    server.addService(pkg.paygate.entitlement.v1.EntitlementService.service, {
      check: (_: unknown, cb: sendUnaryData<unknown>) => checkHandler(cb),
      release: (_: unknown, cb: sendUnaryData<unknown>) => cb({ code: status.UNIMPLEMENTED }),
      recordPayment: ((call, callback) => handler(call, callback)) as Handler,
    });
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, bound) =>
        err ? reject(err) : resolve(bound),
      ),
    );
  });
  afterEach(() => proxy?.close());
  afterAll(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));

  it('sends every field over the proto and returns the answer', async () => {
    let received: RecordPaymentRequest | undefined;
    handler = (call, callback) => {
      received = call.request;
      callback(null, {
        replayed: false,
        customerId: payment.customerId,
        grantId: 'g-1',
        balance: 9_007_199_254_740_991,
      });
    };
    const answer = await clientFor(`127.0.0.1:${port}`).recordPayment(payment);
    // Proto3 strings arrive as '' when not sent (payerPlan: a keyed customer's payment).
    expect(received).toEqual({ ...payment, payerPlan: '', authorization: null, settling: null });
    expect(answer).toEqual({
      replayed: false,
      customerId: payment.customerId,
      grantId: 'g-1',
      balance: 9_007_199_254_740_991,
      authorizationOpen: false,
      claimed: false,
    });
  });

  it('refuses with the status when the service refuses the payment', async () => {
    handler = (_, callback) =>
      callback({ code: status.INVALID_ARGUMENT, details: 'Invalid payment: credits …' });
    const err = await clientFor(`127.0.0.1:${port}`)
      .recordPayment(payment)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EntitlementRefusedError);
    expect(err).not.toBeInstanceOf(EntitlementUnavailableError);
    expect(err).toMatchObject({ code: status.INVALID_ARGUMENT });

    handler = (_, callback) => callback({ code: status.NOT_FOUND, details: 'no customer' });
    await expect(clientFor(`127.0.0.1:${port}`).recordPayment(payment)).rejects.toMatchObject({
      code: status.NOT_FOUND,
    });
  });

  it('is unavailable past the deadline, on a server error, and when nothing listens', async () => {
    handler = () => undefined; // never answers
    const started = Date.now();
    await expect(clientFor(`127.0.0.1:${port}`).recordPayment(payment)).rejects.toBeInstanceOf(
      EntitlementUnavailableError,
    );
    expect(Date.now() - started).toBeLessThan(timeoutMs + 2000);

    handler = (_, callback) => callback({ code: status.INTERNAL, details: 'boom' });
    await expect(clientFor(`127.0.0.1:${port}`).recordPayment(payment)).rejects.toBeInstanceOf(
      EntitlementUnavailableError,
    );

    // Port 1: nothing listens there.
    await expect(clientFor('127.0.0.1:1').recordPayment(payment)).rejects.toBeInstanceOf(
      EntitlementUnavailableError,
    );
  });

  it('waits PAYMENT_CALL_TIMEOUT_MS for payment calls and paid admissions, DECISION_TIMEOUT_MS for decisions', async () => {
    // Answers 400 ms late: past a decision's deadline (100 ms), well within a payment's (10 s).
    const late = <T>(callback: sendUnaryData<T>, value: T) =>
      setTimeout(() => callback(null, value), 400);
    handler = (_, callback) =>
      late(callback, { replayed: false, customerId: payment.customerId, grantId: 'g', balance: 1 });
    checkHandler = (callback) => late(callback, { allowed: true, customerId: 'c-1' });
    const client = clientFor(`127.0.0.1:${port}`, {
      DECISION_TIMEOUT_MS: 100,
      PAYMENT_CALL_TIMEOUT_MS: 10_000,
    });
    const ask = { apiKey: 'k', feature: 'f', cost: 1, requestId: 'r', requiredScopes: [] };
    await expect(client.recordPayment(payment)).resolves.toMatchObject({ grantId: 'g' });
    await expect(client.check(ask, true)).resolves.toMatchObject({ allowed: true });
    await expect(client.check(ask)).rejects.toBeInstanceOf(EntitlementUnavailableError);
  });

  it('times every payment call by call and outcome (paygate_gateway_payment_call_seconds)', async () => {
    const count = async (outcome: string) => {
      const line = (await metricsRegistry.metrics())
        .split('\n')
        .find((l) =>
          l.startsWith(
            `paygate_gateway_payment_call_seconds_count{call="record-payment",outcome="${outcome}"}`,
          ),
        );
      return line ? Number(line.split(' ').pop()) : 0;
    };
    const before = { ok: await count('ok'), refused: await count('refused') };
    const client = clientFor(`127.0.0.1:${port}`);
    handler = (_, callback) =>
      callback(null, { replayed: false, customerId: payment.customerId, grantId: 'g', balance: 1 });
    await client.recordPayment(payment);
    handler = (_, callback) => callback({ code: status.NOT_FOUND, details: 'no customer' });
    await client.recordPayment(payment).catch(() => undefined);
    expect(await count('ok')).toBe(before.ok + 1);
    expect(await count('refused')).toBe(before.refused + 1);
  });
});

/** ENTITLEMENT_GRPC_TOKEN on the wire, and what a refused token does, against a grpc-js server. */
describe('EntitlementClient: the gRPC token', () => {
  const TOKEN = 'gateway-token-0123456789abcdef-0123456789';
  let server: Server;
  let port: number;
  /** The authorization metadata each call carried, in order. */
  let seen: string[][] = [];
  /** Whether the server takes a call carrying these authorization values. */
  let takes: (authorization: string[]) => boolean = () => true;
  const proxies: { close(): unknown }[] = [];

  const answer =
    <T>(value: T) =>
    (call: ServerUnaryCall<unknown, T>, callback: sendUnaryData<T>) => {
      const authorization = call.metadata.get('authorization').map(String);
      seen.push(authorization);
      if (takes(authorization)) callback(null, value);
      else callback({ code: status.UNAUTHENTICATED, details: 'the bearer token is not accepted' });
    };

  const clientWith = (token?: string) => {
    const proxy = ClientProxyFactory.create({
      transport: Transport.GRPC,
      options: {
        package: ENTITLEMENT_GRPC_PACKAGE,
        protoPath: ENTITLEMENT_PROTO_PATH,
        url: `127.0.0.1:${port}`,
        loader: { ...ENTITLEMENT_PROTO_LOADER_OPTIONS },
      },
    }) as ClientGrpc & { close(): unknown };
    proxies.push(proxy);
    const client = new EntitlementClient(proxy, {
      DECISION_TIMEOUT_MS: 2000,
      PAYMENT_CALL_TIMEOUT_MS: 2000,
      ENTITLEMENT_GRPC_TOKEN: token,
    } as GatewayConfig);
    client.onModuleInit();
    return client;
  };
  const ask = { apiKey: 'k', feature: 'f', cost: 1, requestId: 'r', requiredScopes: [] };

  beforeAll(async () => {
    const definition = loadSync(ENTITLEMENT_PROTO_PATH, { ...ENTITLEMENT_PROTO_LOADER_OPTIONS });
    const pkg = loadPackageDefinition(definition) as unknown as {
      paygate: { entitlement: { v1: { EntitlementService: { service: ServiceDefinition } } } };
    };
    server = new Server();
    server.addService(pkg.paygate.entitlement.v1.EntitlementService.service, {
      check: answer({ allowed: true, customerId: 'c-1' }),
      recordPayment: answer({ replayed: false, customerId: 'c-1', grantId: 'g', balance: 1 }),
      closeLeases: answer({ closed: 0 }),
    });
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, bound) =>
        err ? reject(err) : resolve(bound),
      ),
    );
  });
  beforeEach(() => {
    seen = [];
    takes = () => true;
  });
  afterEach(() => {
    jest.restoreAllMocks();
    for (const proxy of proxies.splice(0)) proxy.close();
  });
  afterAll(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));

  it('sends "authorization: Bearer <ENTITLEMENT_GRPC_TOKEN>" on every call, and none unset', async () => {
    const client = clientWith(TOKEN);
    await client.check(ask);
    await client.recordPayment(payment);
    await client.closeLeases([]);
    expect(seen).toEqual([[`Bearer ${TOKEN}`], [`Bearer ${TOKEN}`], [`Bearer ${TOKEN}`]]);

    seen = [];
    await clientWith(undefined).check(ask);
    expect(seen).toEqual([[]]);
  });

  it('answers a refused token as an unavailable service, logs it once naming the variable, and fails /ready until taken', async () => {
    const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const logs = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    takes = () => false;
    const client = clientWith(TOKEN);
    for (let i = 0; i < 3; i++) {
      const err = await client.check(ask).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EntitlementUnavailableError);
      expect(err).toMatchObject({ code: status.UNAUTHENTICATED });
    }
    // A payment call too: unavailable (retried later), not refused for what it asks.
    const paymentErr = await client.recordPayment(payment).catch((e: unknown) => e);
    expect(paymentErr).toBeInstanceOf(EntitlementUnavailableError);
    expect(paymentErr).not.toBeInstanceOf(EntitlementRefusedError);

    expect(errors).toHaveBeenCalledTimes(1);
    const [message] = errors.mock.calls[0] as [string];
    expect(message).toMatch(/ENTITLEMENT_GRPC_TOKEN is not one of its GRPC_TOKENS/);
    expect(message).not.toContain(TOKEN);

    await expect(client.authenticated()).rejects.toThrow(
      /refuses this gateway's ENTITLEMENT_GRPC_TOKEN \(not one of its GRPC_TOKENS\)/,
    );
    expect(errors).toHaveBeenCalledTimes(1);

    // The service takes it (a rotation finished): /ready asks again and passes.
    takes = () => true;
    await expect(client.authenticated()).resolves.toBeUndefined();
    expect(logs).toHaveBeenCalledWith('The entitlement service takes ENTITLEMENT_GRPC_TOKEN again');
    // Taken lately: /ready asks nothing more.
    const calls = seen.length;
    await client.authenticated();
    expect(seen).toHaveLength(calls);
  });

  it('names a missing token as unset', async () => {
    const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    takes = (authorization) => authorization.length > 0;
    const client = clientWith(undefined);
    await expect(client.authenticated()).rejects.toThrow(/ENTITLEMENT_GRPC_TOKEN \(unset\)/);
    expect(errors).toHaveBeenCalledWith(
      expect.stringMatching(/requires a token and ENTITLEMENT_GRPC_TOKEN is unset/),
    );
  });

  it('passes /ready when the service cannot be reached: that is reachable()’s to tell', async () => {
    const proxy = ClientProxyFactory.create({
      transport: Transport.GRPC,
      options: {
        package: ENTITLEMENT_GRPC_PACKAGE,
        protoPath: ENTITLEMENT_PROTO_PATH,
        url: '127.0.0.1:1',
        loader: { ...ENTITLEMENT_PROTO_LOADER_OPTIONS },
      },
    }) as ClientGrpc & { close(): unknown };
    proxies.push(proxy);
    const client = new EntitlementClient(proxy, {
      DECISION_TIMEOUT_MS: 2000,
      ENTITLEMENT_GRPC_TOKEN: TOKEN,
    } as GatewayConfig);
    client.onModuleInit();
    await expect(client.authenticated()).resolves.toBeUndefined();
  });
});
