import { testConfig, waitFor } from '@paygate/testing';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { Client } from 'pg';
import { ChannelListener } from './channel-listener';

/**
 * A TCP proxy to Postgres that can go silent: the connections it holds stay open but carry
 * nothing either way, as when a NAT or load balancer forgets a connection without a reset.
 */
async function silenceableProxy(target: URL): Promise<{
  port: number;
  silence(): void;
  close(): Promise<void>;
}> {
  const held: { client: Socket; upstream: Socket }[] = [];
  const all: Socket[] = [];
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    held.push({ client, upstream });
    all.push(client, upstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    silence: () => {
      for (const { client, upstream } of held.splice(0)) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    // Silenced connections stay open until destroyed: the test run would wait on them.
    close: async () => {
      for (const socket of all) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

describe('ChannelListener (real Postgres)', () => {
  const url = new URL(testConfig().databaseUrl);
  const channel = `itest_listen_${Date.now()}`;
  let proxy: Awaited<ReturnType<typeof silenceableProxy>>;
  let notifier: Client;

  beforeAll(async () => {
    proxy = await silenceableProxy(url);
    notifier = new Client({ connectionString: testConfig().databaseUrl });
    await notifier.connect();
  });
  afterAll(async () => {
    await notifier.end();
    await proxy.close();
  });

  it('notices a connection that went silent, and listens again on a new one', async () => {
    const events: string[] = [];
    const viaProxy = new URL(url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    const listener = new ChannelListener(
      { connectionString: viaProxy.toString() },
      channel,
      {
        notified: () => events.push('notified'),
        listening: (on) => events.push(on ? 'listening' : 'lost'),
      },
      { retryMs: 100, maxRetryMs: 500, checkMs: 300 },
    );
    listener.start();
    try {
      await waitFor(() => events.includes('listening'));
      await notifier.query(`NOTIFY "${channel}"`);
      await waitFor(() => events.includes('notified'));
      // Silent from now on: no error, no end, nothing delivered. Only the check can tell.
      proxy.silence();
      await waitFor(() => events.join() === 'listening,notified,lost,listening', {
        state: () => events.join(),
      });
      await notifier.query(`NOTIFY "${channel}"`);
      await waitFor(() => events.filter((e) => e === 'notified').length === 2, {
        state: () => events.join(),
      });
    } finally {
      await listener.stop();
    }
  });

  it('stops within its bound even when the peer no longer answers', async () => {
    const viaProxy = new URL(url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    let listening = false;
    const listener = new ChannelListener(
      { connectionString: viaProxy.toString() },
      channel,
      { notified: () => undefined, listening: (on) => (listening = on) },
      { retryMs: 100, maxRetryMs: 500, checkMs: 60_000 },
    );
    listener.start();
    await waitFor(() => listening);
    proxy.silence();
    // A graceful end waits for an answer that never comes (minutes, until TCP keepalive gives
    // up); stop() gives up after 2 s, well inside this test's 20 s.
    await listener.stop();
  }, 20_000);
});
