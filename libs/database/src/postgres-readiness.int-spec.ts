import { Logger } from '@nestjs/common';
import { HealthController } from '@paygate/observability';
import type { ProblemException } from '@paygate/problem-details';
import { testConfig } from '@paygate/testing';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { DataSource } from 'typeorm';
import { postgresReadiness } from './nest-providers';

/**
 * /ready is on the public port: when Postgres goes away, the pg driver's own error names the
 * address it could not reach. Postgres is reached here through a TCP relay of the test's own,
 * which is then closed, so the error is the real driver's.
 */
describe('postgresReadiness through a database that goes away (real Postgres)', () => {
  const target = new URL(testConfig().databaseUrl);
  const sockets = new Set<Socket>();
  let relay: Server;
  let dataSource: DataSource;

  beforeAll(async () => {
    relay = createServer((client) => {
      const server = connect(Number(target.port || 5432), target.hostname);
      for (const s of [client, server]) {
        sockets.add(s);
        s.on('error', () => undefined).on('close', () => sockets.delete(s));
      }
      client.pipe(server).pipe(client);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const port = (relay.address() as { port: number }).port;
    const url = new URL(target.href);
    url.hostname = '127.0.0.1';
    url.port = String(port);
    dataSource = await new DataSource({ type: 'postgres', url: url.href }).initialize();
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await dataSource.destroy().catch(() => undefined);
    await new Promise((resolve) => relay.close(resolve));
  });

  it('is ready, then answers only the error code while the service logs the whole error', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const health = new HealthController([postgresReadiness(dataSource)]);
      expect(await health.ready()).toEqual({ status: 'ready', checks: { postgres: 'ok' } });

      const port = (relay.address() as { port: number }).port;
      await new Promise((resolve) => {
        relay.close(resolve);
        for (const s of sockets) s.destroy();
      });
      // The pool's open connection ends first ("Connection terminated"); the next connect is
      // refused, and that error names the address.
      const logged = () => warn.mock.calls.map(([m]) => String(m)).join('\n');
      let problem: ProblemException['problem'] | undefined;
      for (let i = 0; i < 5 && !logged().includes(String(port)); i++) {
        problem = await health.ready().then(
          () => undefined,
          (err: ProblemException) => err.problem,
        );
      }
      expect(problem?.extensions).toEqual({
        checks: { postgres: 'failing' },
        reasons: {
          postgres: expect.stringMatching(
            /^unavailable( \([A-Z0-9_]+\))?; the service's log has the error$/,
          ),
        },
      });
      // The driver's error did name the address; the operator reads it in the log.
      expect(logged()).toMatch(new RegExp(`readiness check postgres fails: .*${port}`));
      expect(JSON.stringify(problem)).not.toContain(String(port));
    } finally {
      warn.mockRestore();
    }
  });
});
