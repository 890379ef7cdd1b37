import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { signAlert } from '../libs/alerts/src';
import { seedDemoCustomer } from '../scripts/seed-demo';
import { EntitlementGrpcClient } from '@paygate/testing';
import { ADMIN_TOKEN, Stack, eventually } from './support/stack';

const SECRET = 'e2e-alert-secret-0123456789';

/** Threshold alerts reach the operator's URL signed, and a failed delivery is retried. */
describe('threshold alerts (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 13401,
      entitlementGrpc: 15451,
      metering: 13402,
      gateway: 18480,
      upstream: 14400,
    },
    'alerts-',
  );
  const received: { headers: IncomingHttpHeaders; body: string; answered: number }[] = [];
  let receiver: Server;
  let client: EntitlementGrpcClient;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        // The first delivery fails, so the retry path is exercised.
        const answered = received.length === 0 ? 503 : 200;
        received.push({ headers: req.headers, body, answered });
        res.writeHead(answered).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(14401, '127.0.0.1', resolve));
    await stack.start(['entitlement'], {
      ALERT_WEBHOOK_URL: 'http://127.0.0.1:14401/alerts',
      ALERT_WEBHOOK_SECRET: SECRET,
      ALERT_LOW_BALANCE: '1',
    });
    client = new EntitlementGrpcClient(stack.ports.entitlementGrpc);
  });
  afterAll(async () => {
    client?.close();
    await stack.stop();
    await new Promise((resolve) => receiver.close(resolve));
  });

  it('sends a signed balance.low alert when credits fall to the threshold, retrying until accepted', async () => {
    const demo = await seedDemoCustomer(stack.url('entitlement'), ADMIN_TOKEN, 3, 'E2E alerts');
    expect((await client.check(demo.apiKey)).allowed).toBe(true);
    expect((await client.check(demo.apiKey)).allowed).toBe(true);

    const ours = () => received.filter((r) => r.body.includes(demo.customerId));
    await eventually(
      async () => ours().filter((r) => r.answered === 200).length,
      (n) => n >= 1,
    );
    const [first, ...rest] = ours();
    expect(JSON.parse(first.body)).toEqual({
      type: 'balance.low',
      customerId: demo.customerId,
      balance: 1,
      threshold: 1,
    });
    // Every attempt is the same event, signed over its timestamp and body.
    for (const attempt of ours()) {
      expect(attempt.headers['paygate-event-id']).toBe(first.headers['paygate-event-id']);
      const signature = String(attempt.headers['paygate-signature']);
      const t = Number(/t=(\d+)/.exec(signature)?.[1]);
      expect(signature).toBe(signAlert(SECRET, attempt.body, t));
    }
    expect(rest.length).toBeGreaterThanOrEqual(first.answered === 503 ? 1 : 0);
  });
});
