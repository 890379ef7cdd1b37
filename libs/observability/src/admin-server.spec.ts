import { ConfigError } from '@paygate/config';
import { connect } from 'node:net';
import { Registry, Counter } from 'prom-client';
import { AdminServer, adminListenerOptions } from './admin-server';

describe('admin listener', () => {
  const registry = new Registry();
  new Counter({
    name: 'paygate_test_402_total',
    help: 'test',
    labelNames: ['customer'],
    registers: [registry],
  }).inc({ customer: 'c-1' });
  const server = new AdminServer({ host: '127.0.0.1', port: 0 }, registry);
  let base = '';

  beforeAll(async () => {
    await server.start();
    base = `http://127.0.0.1:${server.address()!.port}`;
  });
  afterAll(() => server.close());

  it('serves /metrics and nothing else', async () => {
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('paygate_test_402_total{customer="c-1"} 1');
    const other = await fetch(`${base}/v1/customers`);
    expect(other.status).toBe(404);
    expect(other.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(other.headers.get('x-request-id')).toBeTruthy();
    expect(await other.json()).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    const post = await fetch(`${base}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('answers an HTTP/2.0 request line with a 505 problem, the connection closed', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(server.address()!.port, '127.0.0.1', () =>
        socket.write('GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n'),
      );
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 505 /);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    expect(answer).toContain('"code":"HTTP_VERSION_NOT_SUPPORTED"');
    expect(answer).not.toContain('paygate_test_402_total');
  });

  it('binds 127.0.0.1 and HTTP_PORT + 1000 unless told otherwise', () => {
    const config = { HTTP_HOST: '0.0.0.0', HTTP_PORT: 8080, ADMIN_HTTP_HOST: '127.0.0.1' };
    expect(adminListenerOptions(config)).toEqual({ host: '127.0.0.1', port: 9080 });
    expect(adminListenerOptions({ ...config, ADMIN_HTTP_PORT: 9464 }).port).toBe(9464);
    expect(() => adminListenerOptions({ ...config, ADMIN_HTTP_PORT: 8080 })).toThrow(ConfigError);
    expect(() => adminListenerOptions({ ...config, HTTP_PORT: 65000 })).toThrow(ConfigError);
  });

  it('refuses to start on a port in use, so the service does not start without it', async () => {
    const second = new AdminServer({ host: '127.0.0.1', port: server.address()!.port }, registry);
    await expect(second.start()).rejects.toThrow(/EADDRINUSE/);
  });
});
