import { credentials, loadPackageDefinition, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import {
  ENTITLEMENT_GRPC_PACKAGE,
  ENTITLEMENT_PROTO_LOADER_OPTIONS,
  ENTITLEMENT_PROTO_PATH,
  type CheckRequest,
  type CheckResponse,
} from '@paygate/contracts';
import { randomUUID } from 'node:crypto';
import { seedDemoCustomer } from '../scripts/seed-demo';
import { ADMIN_TOKEN, Stack } from './support/stack';

type Client = {
  check(req: CheckRequest, cb: (err: Error | null, res: CheckResponse) => void): void;
  close(): void;
};

function client(port: number): Client {
  const definition = loadSync(ENTITLEMENT_PROTO_PATH, { ...ENTITLEMENT_PROTO_LOADER_OPTIONS });
  const pkg = loadPackageDefinition(definition) as unknown as Record<
    string,
    Record<string, Record<string, ServiceClientConstructor>>
  >;
  const [, , version] = ENTITLEMENT_GRPC_PACKAGE.split('.');
  const Service = pkg.paygate.entitlement[version] as unknown as Record<
    string,
    ServiceClientConstructor
  >;
  return new Service.EntitlementService(
    `127.0.0.1:${port}`,
    credentials.createInsecure(),
  ) as unknown as Client;
}

/**
 * Two entitlement processes share one database: 200 concurrent decisions against 100 credits,
 * sent to both, admit exactly 100, and the balance ends at 0, never below.
 */
describe('exact admission across two entitlement instances (e2e)', () => {
  const first = new Stack(
    {
      entitlementHttp: 13201,
      entitlementGrpc: 15251,
      metering: 13202,
      gateway: 18280,
      upstream: 14200,
    },
    'first-',
  );
  const second = new Stack(
    {
      entitlementHttp: 13301,
      entitlementGrpc: 15351,
      metering: 13302,
      gateway: 18380,
      upstream: 14300,
    },
    'second-',
  );
  let clients: Client[] = [];

  beforeAll(async () => {
    await Promise.all([first.start(['entitlement']), second.start(['entitlement'])]);
    clients = [client(first.ports.entitlementGrpc), client(second.ports.entitlementGrpc)];
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all([first.stop(), second.stop()]);
  });

  it('admits exactly the balance', async () => {
    const demo = await seedDemoCustomer(
      first.url('entitlement'),
      ADMIN_TOKEN,
      100,
      'E2E two instances',
    );
    const check = (c: Client) =>
      new Promise<CheckResponse>((resolve, reject) =>
        c.check(
          {
            apiKey: demo.apiKey,
            feature: 'requests',
            cost: 1,
            requestId: randomUUID(),
            requiredScopes: [],
          },
          (err, res) => (err ? reject(err) : resolve(res)),
        ),
      );
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => check(clients[i % 2])));
    expect(results.filter((r) => r.allowed)).toHaveLength(100);
    expect(
      results.filter((r) => !r.allowed).every((r) => r.denial?.code === 'insufficient-credits'),
    ).toBe(true);
    const balance = await (
      await fetch(`${second.url('entitlement')}/v1/customers/${demo.customerId}/balance`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    ).json();
    expect(balance).toEqual({ customerId: demo.customerId, available: 0, reserved: 100 });
  });
});
