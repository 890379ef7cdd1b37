import { once } from 'node:events';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from 'undici';
import { UpstreamFailure, UpstreamForwarder, sendingWindow } from './upstream-forwarder';

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

const MIB = 1024 * 1024;
const BIG_BYTES = 64 * MIB;
/** What the upstream of /big has handed to its socket so far (it waits for 'drain'). */
let bigSent = 0;

/** 64 MiB in 1 MiB chunks, written as a well-behaved server does: waiting whenever it is full. */
async function writeBig(_req: IncomingMessage, res: ServerResponse): Promise<void> {
  bigSent = 0;
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  const chunk = Buffer.alloc(MIB, 7);
  for (let i = 0; i < BIG_BYTES / MIB; i++) {
    bigSent += chunk.length;
    if (!res.write(chunk)) await once(res, 'drain');
  }
  res.end();
}

/** A GET that reports how its response ended: whole, or cut short. */
function getUntilClosed(url: string): Promise<{ status: number; body: string; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('error', () => undefined); // 'aborted': what this test looks for
      res.on('close', () => resolve({ status: res.statusCode ?? 0, body, complete: res.complete }));
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
        {
          origin,
          path: req.url ?? '/',
          method: 'GET',
          headers: ['x-seen', 'yes'],
          timeoutMs,
          minBodyBytesPerSecond: 0,
        },
        res,
        {
          onResponse: (status, headers) => ({ ...headers, 'x-status-seen': String(status) }),
          onAnswered: () => undefined,
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
    if (req.url === '/big') {
      upstreamClosed = new Promise((resolve) => req.socket.once('close', () => resolve()));
      return void writeBig(req, res).catch(() => undefined);
    }
    if (req.url === '/cut') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      setTimeout(() => req.socket.destroy(), 50);
      return;
    }
    if (req.url === '/drip') {
      upstreamClosed = new Promise((resolve) => req.socket.once('close', () => resolve()));
      res.writeHead(200, { 'content-type': 'text/plain' });
      const drip = setInterval(() => res.write('drop '), 20);
      req.socket.once('close', () => clearInterval(drip));
      return;
    }
    if (req.url === '/stream-800ms') {
      // Streams for 800 ms, a chunk every 20 ms, then ends.
      res.writeHead(200, { 'content-type': 'text/plain' });
      const drip = setInterval(() => res.write('x'), 20);
      setTimeout(() => {
        clearInterval(drip);
        res.end();
      }, 800);
      return;
    }
    if (req.url === '/one-mib') return void res.end(Buffer.alloc(MIB, 3));
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

  it('cancels the upstream request when the caller goes away, reporting it abandoned', async () => {
    const url = `${await front(upstreamUrl)}/slow`;
    const abort = new AbortController();
    const pending = get(url, abort.signal).catch((err: Error) => err);
    await new Promise((r) => setTimeout(r, 200));
    abort.abort();
    expect(await pending).toMatchObject({ name: 'AbortError' });
    await upstreamClosed; // the upstream saw its request end, not left to run
    await new Promise((r) => setTimeout(r, 50));
    // The upstream had the whole request: the caller left after it was delivered.
    expect(failures).toEqual(['abandoned']);
  });

  it('holds the upstream back while the caller reads slowly, and delivers every byte', async () => {
    const url = `${await front(upstreamUrl)}/big`;
    const received = await new Promise<{ bytes: number; sentWhilePaused: number }>(
      (resolve, reject) => {
        const req = httpRequest(url, (res) => {
          let bytes = 0;
          let sentWhilePaused = 0;
          res.once('data', (chunk: Buffer) => {
            bytes += chunk.length;
            res.pause();
            // A proxy that ignored back-pressure would have read all 64 MiB by now, into memory.
            setTimeout(() => {
              sentWhilePaused = bigSent;
              res.on('data', (c: Buffer) => (bytes += c.length));
              res.resume();
            }, 500);
          });
          res.on('end', () => resolve({ bytes, sentWhilePaused }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      },
    );
    expect(received.bytes).toBe(BIG_BYTES);
    expect(received.sentWhilePaused).toBeLessThan(BIG_BYTES / 2);
    expect(failures).toEqual([]);
  });

  it('cuts the caller short when the upstream dies after answering', async () => {
    const res = await getUntilClosed(`${await front(upstreamUrl)}/cut`);
    expect(res).toMatchObject({ status: 200, body: 'partial', complete: false });
    // The answer had begun: nothing for the handlers to answer.
    expect(failures).toEqual([]);
  });

  it('cancels the upstream request when the caller goes away mid-body', async () => {
    const url = `${await front(upstreamUrl)}/drip`;
    await new Promise<void>((resolve) => {
      const req = httpRequest(url, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
      req.end();
    });
    await upstreamClosed; // undici gave the upstream connection up, not left dripping
    expect(failures).toEqual([]);
  });

  it('counts a caller that hangs up while sending its body as gone, not as an upstream failure', async () => {
    // The upstream reads nothing and answers nothing: the caller's body fills the sockets.
    const stalled = createServer(() => undefined);
    const stalledUrl = await listen(stalled);
    servers.push(stalled);
    const front = createServer((req, res) => {
      forwarder.forward(
        {
          origin: stalledUrl,
          path: '/upload',
          method: 'POST',
          headers: [],
          body: req,
          timeoutMs: 5_000,
          minBodyBytesPerSecond: 0,
        },
        res,
        {
          onResponse: (_status, headers) => headers,
          onAnswered: () => undefined,
          onFailure: (_err, failure) => failures.push(failure),
        },
      );
    });
    servers.push(front);
    const frontUrl = new URL(await listen(front));
    const req = httpRequest({
      host: frontUrl.hostname,
      port: frontUrl.port,
      method: 'POST',
      path: '/upload',
      headers: { 'content-length': String(64 * MIB) },
    });
    req.on('error', () => undefined);
    req.write(Buffer.alloc(MIB, 1));
    await new Promise((r) => setTimeout(r, 200));
    req.destroy();
    for (let i = 0; i < 50 && failures.length === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(failures).toEqual(['cancelled']);
  });

  it('reports a caller that leaves after its whole body reached the upstream as abandoned', async () => {
    const front = await uploadFront(upstreamUrl, 5_000);
    const req = httpRequest({
      host: front.hostname,
      port: front.port,
      method: 'POST',
      path: '/slow',
      headers: { 'content-length': '5' },
    });
    req.on('error', () => undefined);
    req.end('hello');
    await new Promise((r) => setTimeout(r, 200));
    req.destroy();
    await upstreamClosed;
    for (let i = 0; i < 50 && failures.length === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(failures).toEqual(['abandoned']);
  });

  it('answers a request still queued for a connection as soon as its caller leaves', async () => {
    // One connection per origin, held by a request the upstream never answers: the next one
    // waits in undici's queue. Its caller hanging up fails it at once, not when the first one
    // times out (which is when a connection would take it).
    class OneConnection extends UpstreamForwarder {
      protected override readonly connectionsPerOrigin = 1;
    }
    const queued = new OneConnection();
    const seen: { failure: UpstreamFailure; at: number }[] = [];
    const front = createServer((req, res) => {
      const post = req.method === 'POST';
      queued.forward(
        {
          origin: upstreamUrl,
          path: post ? '/upload' : '/slow',
          method: req.method ?? 'GET',
          headers: [],
          body: post ? req : undefined,
          timeoutMs: 3_000,
          minBodyBytesPerSecond: 0,
        },
        res,
        {
          onResponse: (_status, headers) => headers,
          onAnswered: () => undefined,
          onFailure: (_err, failure) => {
            seen.push({ failure, at: Date.now() });
            if (failure !== 'cancelled') res.writeHead(504).end();
          },
        },
      );
    });
    servers.push(front);
    const frontUrl = new URL(await listen(front));
    const holder = get(`${frontUrl.origin}/slow`).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    const req = httpRequest({
      host: frontUrl.hostname,
      port: frontUrl.port,
      method: 'POST',
      path: '/upload',
      headers: { 'content-length': String(MIB) },
    });
    req.on('error', () => undefined);
    req.write(Buffer.alloc(1024, 1));
    await new Promise((r) => setTimeout(r, 100));
    const leftAt = Date.now();
    req.destroy();
    for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(seen.map((s) => s.failure)).toEqual(['cancelled']);
    expect(seen[0].at - leftAt).toBeLessThan(1_000);
    await holder;
    await queued.onApplicationShutdown();
  });

  /** A front forwarding POSTs with their bodies (and GETs) to `origin`, with its own timeout. */
  async function uploadFront(
    origin: string,
    timeoutMs: number,
    forwardWith: UpstreamForwarder = forwarder,
    minBodyBytesPerSecond = 0,
  ): Promise<URL> {
    const server = createServer((req, res) => {
      const post = req.method === 'POST';
      forwardWith.forward(
        {
          origin,
          path: req.url ?? '/',
          method: req.method ?? 'GET',
          headers: post ? ['content-length', req.headers['content-length'] ?? '0'] : [],
          body: post ? req : undefined,
          // `/slow` holds its connection for longer than the others may wait for one.
          timeoutMs: req.url === '/slow' ? 1_500 : timeoutMs,
          minBodyBytesPerSecond,
        },
        res,
        {
          onResponse: (_status, headers) => headers,
          onAnswered: () => undefined,
          onFailure: (_err, failure) => {
            failures.push(failure);
            if (failure !== 'cancelled')
              res
                .writeHead(failure === 'caller-timeout' ? 408 : 504, { connection: 'close' })
                .end(failure);
          },
        },
      );
    });
    servers.push(server);
    return new URL(await listen(server));
  }

  /** Sends `parts` of a body of `length` bytes, `gapMs` apart, and resolves with the answer. */
  function trickle(
    front: URL,
    length: number,
    parts: Buffer[],
    gapMs: number,
  ): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: front.hostname,
          port: front.port,
          method: 'POST',
          path: '/echo',
          headers: { 'content-length': String(length) },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      let i = 0;
      const next = () => {
        if (i < parts.length) req.write(parts[i++]);
        if (i < parts.length) setTimeout(next, gapMs);
      };
      next();
    });
  }

  it('answers a caller that stops sending its body once the gap passes the timeout, and frees the upstream', async () => {
    const echo = createServer((req, res) => {
      upstreamClosed = new Promise((resolve) => req.socket.once('close', () => resolve()));
      req.resume();
      req.on('end', () => res.end('read all'));
    });
    servers.push(echo);
    const front = await uploadFront(await listen(echo), 300);
    const startedAt = Date.now();
    // Two bytes of ten, then nothing.
    const res = await trickle(front, 10, [Buffer.from('ab')], 0);
    expect(res).toEqual({ status: 408, body: 'caller-timeout' });
    expect(Date.now() - startedAt).toBeLessThan(3_000);
    expect(failures).toEqual(['caller-timeout']);
    await upstreamClosed; // undici gave the upstream request up, not left waiting for bytes
  });

  it('keeps forwarding a body whose gaps stay within the timeout, however long it takes', async () => {
    const echo = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => res.end(body));
    });
    servers.push(echo);
    const front = await uploadFront(await listen(echo), 300);
    // Ten bytes, one every 100 ms: a second in all, over three times the timeout.
    const parts = Array.from({ length: 10 }, (_, i) => Buffer.from(String(i)));
    const res = await trickle(front, 10, parts, 100);
    expect(res).toEqual({ status: 200, body: '0123456789' });
    expect(failures).toEqual([]);
  });

  it('answers a caller whose body trickles in under the least rate with a 408 after one window', async () => {
    const echo = createServer((req, res) => {
      upstreamClosed = new Promise((resolve) => req.socket.once('close', () => resolve()));
      req.resume();
      req.on('end', () => res.end('read all'));
    });
    servers.push(echo);
    // At least 100 bytes a second: 100 in each 1 s window.
    const front = await uploadFront(await listen(echo), 1_000, forwarder, 100);
    const startedAt = Date.now();
    // A byte every 50 ms (20 a second): never a gap as long as the timeout, yet too slow.
    const parts = Array.from({ length: 100 }, () => Buffer.from('x'));
    const res = await trickle(front, 100, parts, 50);
    expect(res).toEqual({ status: 408, body: 'caller-timeout' });
    expect(Date.now() - startedAt).toBeLessThan(4_000);
    expect(failures).toEqual(['caller-timeout']);
    await upstreamClosed;
  });

  it('forwards a body that keeps to the least rate, however long it takes', async () => {
    const echo = createServer((req, res) => {
      let length = 0;
      req.on('data', (c: Buffer) => (length += c.length));
      req.on('end', () => res.end(String(length)));
    });
    servers.push(echo);
    const front = await uploadFront(await listen(echo), 1_000, forwarder, 100);
    // 100 bytes every 100 ms (1,000 a second) for 2.4 s: three windows, each ten times 100.
    const parts = Array.from({ length: 24 }, () => Buffer.alloc(100, 1));
    const res = await trickle(front, 2_400, parts, 100);
    expect(res).toEqual({ status: 200, body: '2400' });
    expect(failures).toEqual([]);
  });

  it('does not count a window in which the body was paused (the upstream reading slowly) against the caller', async () => {
    const echo = createServer((req, res) => {
      let length = 0;
      req.on('data', (c: Buffer) => (length += c.length));
      req.on('end', () => res.end(String(length)));
    });
    servers.push(echo);
    const upstream = await listen(echo);
    // What undici does while the upstream does not take the body: pause it, then resume it.
    // Here every 100 ms, so each window has a pause, while the caller sends under the rate.
    const front = createServer((req, res) => {
      const pauses = setInterval(() => {
        req.pause();
        setTimeout(() => req.resume(), 10);
      }, 100);
      req.once('end', () => clearInterval(pauses));
      forwarder.forward(
        {
          origin: upstream,
          path: '/',
          method: 'POST',
          headers: ['content-length', req.headers['content-length'] ?? '0'],
          body: req,
          timeoutMs: 1_000,
          minBodyBytesPerSecond: 100,
        },
        res,
        {
          onResponse: (_status, headers) => headers,
          onAnswered: () => undefined,
          onFailure: (_err, failure) => {
            failures.push(failure);
            res.writeHead(408, { connection: 'close' }).end(failure);
          },
        },
      );
    });
    servers.push(front);
    const url = new URL(await listen(front));
    // 20 bytes a second for 2.5 s: under the 100 a window, but every window was held back.
    const parts = Array.from({ length: 50 }, () => Buffer.from('x'));
    const res = await trickle(url, 50, parts, 50);
    expect(res).toEqual({ status: 200, body: '50' });
    expect(failures).toEqual([]);
  });

  it('reports an upstream that stops reading the body as a timeout, not as the caller', async () => {
    const stalled = createServer(() => undefined); // reads nothing, answers nothing
    servers.push(stalled);
    const front = await uploadFront(await listen(stalled), 300);
    const res = await trickle(front, 64 * MIB, [Buffer.alloc(64 * MIB, 1)], 0).catch(
      (err: Error) => err,
    );
    // The caller may see the 504, or a reset while still writing what nobody reads.
    if (!(res instanceof Error)) expect(res).toEqual({ status: 504, body: 'timeout' });
    for (let i = 0; i < 100 && failures.length === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(failures).toEqual(['timeout']);
  });

  it('cuts off a caller that stops reading the answer, and frees the upstream connection', async () => {
    const front = await uploadFront(upstreamUrl, 300);
    let upstreamStarted!: () => void;
    const started = new Promise<void>((resolve) => (upstreamStarted = resolve));
    const req = httpRequest(`${front.origin}/big`, (res) => {
      upstreamStarted();
      res.once('data', () => res.pause()); // and never reads again
      res.on('error', () => undefined);
    });
    req.on('error', () => undefined);
    req.end();
    await started;
    // A caller that reads nothing cannot see its connection close; the gateway's side can:
    // undici is no longer paused for good, the upstream's connection is given up.
    await upstreamClosed;
    expect(bigSent).toBeLessThan(BIG_BYTES);
    expect(failures).toEqual([]); // the answer had begun: nothing for the handlers to answer
    req.destroy();
  });

  it('does not cut a pipelined answer while it waits its turn behind an earlier one', async () => {
    // The second answer cannot be written before the first ends (800 ms, over the 300 ms
    // timeout): undici is paused meanwhile, which is not the caller failing to read.
    const front = await uploadFront(upstreamUrl, 300);
    const client = new Client(front.origin, { pipelining: 2 });
    try {
      const [first, second] = await Promise.all([
        client.request({ path: '/stream-800ms', method: 'GET' }),
        client.request({ path: '/one-mib', method: 'GET' }),
      ]);
      const [firstBody, secondBody] = await Promise.all([
        first.body.text(),
        second.body.arrayBuffer(),
      ]);
      expect(firstBody.length).toBeGreaterThan(10);
      expect(second.statusCode).toBe(200);
      expect(secondBody.byteLength).toBe(MIB);
      expect(failures).toEqual([]);
    } finally {
      await client.destroy();
    }
  });

  it('answers a request that waits for a connection longer than the timeout with a timeout', async () => {
    class OneConnection extends UpstreamForwarder {
      protected override readonly connectionsPerOrigin = 1;
    }
    const queued = new OneConnection();
    const front = await uploadFront(upstreamUrl, 300, queued);
    const holder = get(`${front.origin}/slow`).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    const startedAt = Date.now();
    const res = await get(`${front.origin}/hello`);
    expect(res).toMatchObject({ status: 504, body: 'timeout' });
    expect(Date.now() - startedAt).toBeLessThan(3_000);
    expect(failures).toEqual(['timeout']);
    await queued.onApplicationShutdown();
    await holder;
  });

  it('sends none of the upstream fields when Node refuses one, and reports it unanswered', async () => {
    const answered: number[] = [];
    const front = createServer((_req, res) => {
      // As the gateway's front door does: a field of its own already on the response.
      res.setHeader('x-request-id', 'r-1');
      forwarder.forward(
        {
          origin: upstreamUrl,
          path: '/hello',
          method: 'GET',
          headers: ['x-seen', 'yes'],
          timeoutMs: 5_000,
          minBodyBytesPerSecond: 0,
        },
        res,
        {
          // A value Node will not write (U+2028 is not a latin1 character).
          onResponse: (_status, headers) => ({ ...headers, 'x-bad': 'a\u2028b' }),
          onAnswered: (status) => answered.push(status),
          onFailure: (_err, failure) => {
            failures.push(failure);
            res.writeHead(502, { 'content-type': 'text/plain' }).end(failure);
          },
        },
      );
    });
    servers.push(front);
    const res = await get(`${await listen(front)}/hello`);
    expect(res).toMatchObject({ status: 502, body: 'unavailable' });
    expect(res.headers['x-upstream']).toBeUndefined();
    expect(res.headers['x-request-id']).toBe('r-1');
    expect(answered).toEqual([]);
    expect(failures).toEqual(['unavailable']);
  });
});

describe('sendingWindow', () => {
  it('takes a window that brought the least or more', () => {
    expect(sendingWindow(30, 30, false)).toBe('on');
    expect(sendingWindow(31, 30, false)).toBe('on');
    // 0: any byte will do.
    expect(sendingWindow(1, 0, false)).toBe('on');
  });

  it('blames a window under the least on the caller, unless the upstream held the body back', () => {
    expect(sendingWindow(29, 30, false)).toBe('too-slow');
    expect(sendingWindow(1, 30, true)).toBe('on');
  });

  it('calls a window that brought nothing stalled, held back or not', () => {
    expect(sendingWindow(0, 30, false)).toBe('stalled');
    expect(sendingWindow(0, 30, true)).toBe('stalled');
    expect(sendingWindow(0, 0, false)).toBe('stalled');
  });
});
