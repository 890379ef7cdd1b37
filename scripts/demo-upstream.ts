/**
 * A tiny upstream API for the demo and the end-to-end tests: it answers every request with
 * what it received, so one can see what the gateway forwards (/fixed: the same fixed answer
 * to every request; /stream: an event stream of 30 s).
 *   node dist/scripts/demo-upstream.js   (PORT, default 4000)
 */
import { createServer, type Server } from 'node:http';

const FIXED_ANSWER = JSON.stringify({ message: 'Hello from the demo upstream' });

export function startDemoUpstream(
  port: number,
  host = '127.0.0.1',
): Promise<{ server: Server; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // A slow upstream, for timeouts: /slow answers after two seconds.
      if (req.url?.startsWith('/slow')) {
        setTimeout(() => res.writeHead(200).end('{"slow":true}'), 2000).unref();
        return;
      }
      hits += 1;
      if (req.url?.startsWith('/stream')) {
        // An event stream (what model APIs answer): an event every 100 ms for 30 s.
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        let sent = 0;
        const tick = setInterval(() => {
          res.write(`data: ${sent++}\n\n`);
          if (sent === 300) {
            clearInterval(tick);
            res.end();
          }
        }, 100);
        tick.unref();
        res.on('close', () => clearInterval(tick));
        return;
      }
      if (req.url?.startsWith('/fail')) {
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"demo failure"}');
        return;
      }
      if (req.url?.startsWith('/hop')) {
        // Connection-specific fields of this hop, which a proxy must not pass on.
        res.setHeader('connection', 'x-upstream-hop');
        res.setHeader('x-upstream-hop', 'private');
        res.setHeader('keep-alive', 'timeout=5');
      }
      res.writeHead(200, { 'content-type': 'application/json', 'x-demo-upstream': 'yes' });
      if (req.url?.startsWith('/fixed')) {
        // The same answer without what the caller sent: what most APIs answer. bench/gateway
        // measures the gateway against it too, since the echo below sends the fields a proxy
        // adds back to it as body bytes.
        res.end(FIXED_ANSWER);
        return;
      }
      res.end(
        JSON.stringify({
          message: 'Hello from the demo upstream',
          method: req.method,
          path: req.url,
          customerId: req.headers['x-paygate-customer-id'] ?? null,
          requestId: req.headers['x-request-id'] ?? null,
          receivedBytes: Buffer.concat(chunks).length,
          headers: req.headers,
        }),
      );
    });
  });
  return new Promise((resolve) =>
    server.listen(port, host, () => resolve({ server, hits: () => hits })),
  );
}

if (require.main === module) {
  const port = Number(process.env.PORT ?? 4000);
  const host = process.env.HOST ?? '127.0.0.1';
  void startDemoUpstream(port, host).then(({ server }) => {
    console.log(`[demo-upstream] listening on ${host}:${port}`);
    // SIGTERM (docker stop, npm run stop) or Ctrl-C: stop accepting, let the requests in
    // flight finish, exit 0; whatever is still open after 5 s is cut and the exit is 1.
    const stop = (signal: NodeJS.Signals): void => {
      console.log(`[demo-upstream] ${signal}: closing`);
      setTimeout(() => {
        console.error('[demo-upstream] requests still open after 5 s; exiting anyway');
        server.closeAllConnections();
        process.exit(1);
      }, 5_000).unref();
      server.close(() => process.exit(0));
      // Keep-alive connections are closed as soon as their request is answered (close() alone
      // would wait for each one's keep-alive timeout).
      server.closeIdleConnections();
      setInterval(() => server.closeIdleConnections(), 100).unref();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
