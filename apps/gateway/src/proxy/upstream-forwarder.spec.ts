import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UpstreamFailure, UpstreamForwarder } from './upstream-forwarder';

/** Real sockets on both sides: an upstream, and a front server that forwards through it. */
async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function get(
  url: string,
  signal?: AbortSignal,
): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { signal }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('UpstreamForwarder', () => {
  const forwarder = new UpstreamForwarder();
  const servers: Server[] = [];
  let upstreamClosed: Promise<void>;
  const failures: UpstreamFailure[] = [];

  async function front(origin: string, timeoutMs = 5_000): Promise<string> {
    const server = createServer((req, res) => {
      forwarder.forward(
        { origin, path: req.url ?? '/', method: 'GET', headers: ['x-seen', 'yes'], timeoutMs },
        res,
        {
          onResponse: (status, headers) => ({ ...headers, 'x-status-seen': String(status) }),
          onFailure: (_err, failure) => {
            failures.push(failure);
            if (failure !== 'cancelled')
              res.writeHead(failure === 'timeout' ? 504 : 502).end(failure);
          },
        },
      );
    });
    servers.push(server);
    return listen(server);
  }

  const upstream = createServer((req, res) => {
    if (req.url === '/slow') {
      upstreamClosed = new Promise((resolve) => req.socket.once('close', () => resolve()));
      return; // never answers
    }
    res.writeHead(201, { 'content-type': 'text/plain', 'x-upstream': req.headers['x-seen'] });
    // Two chunks with a pause between them: the body streams, it is not buffered whole.
    res.write('first ');
    setTimeout(() => res.end('second'), 20);
  });
  let upstreamUrl: string;

  beforeAll(async () => {
    upstreamUrl = await listen(upstream);
  });
  beforeEach(() => failures.splice(0));
  afterAll(async () => {
    await forwarder.onApplicationShutdown();
    for (const s of [...servers, upstream]) {
      s.closeAllConnections();
      s.close();
    }
  });

  it('streams the answer with the headers the caller chose', async () => {
    const res = await get(`${await front(upstreamUrl)}/hello`);
    expect(res).toMatchObject({ status: 201, body: 'first second' });
    expect(res.headers['x-upstream']).toBe('yes');
    expect(res.headers['x-status-seen']).toBe('201');
    expect(failures).toEqual([]);
  });

  it('reports a timeout when the upstream does not answer in time', async () => {
    const res = await get(`${await front(upstreamUrl, 200)}/slow`);
    expect(res).toMatchObject({ status: 504, body: 'timeout' });
    expect(failures).toEqual(['timeout']);
  });

  it('reports an unreachable upstream as unavailable', async () => {
    const closed = createServer();
    const origin = await listen(closed);
    closed.close();
    await once(closed, 'close');
    const res = await get(`${await front(origin)}/x`);
    expect(res).toMatchObject({ status: 502, body: 'unavailable' });
    expect(failures).toEqual(['unavailable']);
  });

  it('cancels the upstream request when the caller goes away', async () => {
    const url = `${await front(upstreamUrl)}/slow`;
    const abort = new AbortController();
    const pending = get(url, abort.signal).catch((err: Error) => err);
    await new Promise((r) => setTimeout(r, 200));
    abort.abort();
    expect(await pending).toMatchObject({ name: 'AbortError' });
    await upstreamClosed; // the upstream saw its request end, not left to run
    await new Promise((r) => setTimeout(r, 50));
    expect(failures).toEqual(['cancelled']);
  });
});
