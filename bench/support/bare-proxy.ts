/**
 * The least a Node reverse proxy does, for bench/gateway's baseline (d): node:http in front,
 * the same kind of undici keep-alive pool and stream() the gateway forwards with, no auth, no
 * decision, no metering, no logs. Its throughput is the ceiling of any gateway on this runtime
 * and machine, so (c)/(d) is the cost of paygate's own work.
 *   PORT=… UPSTREAM=http://127.0.0.1:… node dist/bench/support/bare-proxy.js
 */
import { createServer } from 'node:http';
import { Pool } from 'undici';

const port = Number(process.env.PORT ?? 0);
const pool = new Pool(process.env.UPSTREAM ?? 'http://127.0.0.1:80', { connections: 64 });

const server = createServer((req, res) => {
  const headers = { ...req.headers };
  delete headers.host;
  delete headers.connection;
  pool
    .stream(
      {
        method: req.method as 'GET',
        path: req.url ?? '/',
        headers: headers as Record<string, string>,
        body: req.method === 'GET' || req.method === 'HEAD' ? null : req,
      },
      ({ statusCode, headers: upstreamHeaders }) => {
        const passed = { ...upstreamHeaders };
        delete passed.connection;
        delete passed['keep-alive'];
        res.writeHead(statusCode, passed as Record<string, string>);
        return res;
      },
    )
    .catch(() => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
});

server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  server.close();
  void pool.close().finally(() => process.exit(0));
});
