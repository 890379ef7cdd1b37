/**
 * A TCP relay in front of a service's replicas: docker-compose publishes metering's port 3002
 * through it, so `docker compose up --scale metering=N` works and 3002 stays where it is (a
 * host port range would not: Docker hands a range's ports out round-robin, so after a `down`
 * a lone replica got 3004). Each connection goes to the next replica of the name (every
 * address its DNS lookup returns: Docker's DNS gives the running replicas), trying the others
 * when one refuses or does not answer within the connect timeout.
 *   RELAY_PORT=3002 RELAY_TARGET=metering:3002 node dist/scripts/tcp-relay.js
 */
import { lookup } from 'node:dns/promises';
import { type Server, type Socket, connect, createServer } from 'node:net';

export interface RelayOptions {
  /** Host name whose addresses are the replicas. */
  host: string;
  port: number;
  connectTimeoutMs?: number;
  /** How the replicas are found (tests give their own). */
  resolve?: (host: string) => Promise<string[]>;
}

const resolveAll = async (host: string): Promise<string[]> =>
  (await lookup(host, { all: true, family: 4 })).map((a) => a.address);

/** A server relaying each accepted connection to one of the replicas, round robin. */
export function createRelay(options: RelayOptions): Server {
  const resolve = options.resolve ?? resolveAll;
  const timeout = options.connectTimeoutMs ?? 2000;
  let turn = 0;

  const relay = (client: Socket, replicas: string[]): void => {
    const address = replicas.shift();
    if (address === undefined || client.destroyed) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: address, port: options.port, timeout });
    upstream.once('timeout', () => upstream.destroy(new Error('connect timeout')));
    // Not connected yet: another replica may take the connection.
    upstream.once('error', () => relay(client, replicas));
    upstream.once('connect', () => {
      upstream.setTimeout(0);
      upstream.removeAllListeners('error');
      upstream.on('error', () => client.destroy());
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
      if (client.destroyed) upstream.destroy();
      else client.pipe(upstream).pipe(client);
    });
  };

  return createServer((client) => {
    client.on('error', () => client.destroy());
    resolve(options.host).then(
      (found) => {
        const start = turn++;
        relay(
          client,
          found.map((_, i) => found[(start + i) % found.length]),
        );
      },
      () => client.destroy(),
    );
  });
}

if (require.main === module) {
  const listen = Number(process.env.RELAY_PORT ?? 3002);
  const [host, port] = (process.env.RELAY_TARGET ?? 'metering:3002').split(':');
  const server = createRelay({ host, port: Number(port) });
  server.listen(listen, process.env.RELAY_HOST ?? '0.0.0.0', () =>
    console.log(`[tcp-relay] :${listen} → ${host}:${port} (every address of ${host})`),
  );
  // Stops accepting at once; open connections end with the process (a replica's own
  // graceful shutdown finishes what it was serving).
  process.once('SIGTERM', () => {
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
