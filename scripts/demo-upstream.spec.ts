import type { AddressInfo } from 'node:net';
import { startDemoUpstream } from './demo-upstream';

describe('demo upstream', () => {
  let stop: () => Promise<void>;
  let base: string;

  beforeAll(async () => {
    const { server } = await startDemoUpstream(0);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    stop = () => new Promise((resolve) => server.close(() => resolve()));
  });
  afterAll(() => stop());

  it('answers with what it was sent', async () => {
    const res = await fetch(`${base}/hello`, { headers: { 'x-paygate-customer-id': 'c-1' } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ path: '/hello', customerId: 'c-1' });
    expect(body.headers).toMatchObject({ 'x-paygate-customer-id': 'c-1' });
  });

  it('answers /fixed with the same bytes whatever it was sent', async () => {
    const plain = await fetch(`${base}/fixed`);
    const dressed = await fetch(`${base}/fixed/x?y=1`, {
      method: 'POST',
      body: 'abc',
      headers: { 'x-paygate-customer-id': 'c-1', forwarded: 'for=127.0.0.1' },
    });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('x-demo-upstream')).toBe('yes');
    const text = await plain.text();
    expect(await dressed.text()).toBe(text);
    expect(JSON.parse(text)).toEqual({ message: 'Hello from the demo upstream' });
  });
});
