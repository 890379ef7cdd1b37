import { Logger } from '@nestjs/common';
import { HealthController } from '@paygate/observability';
import type { ProblemException } from '@paygate/problem-details';
import { TcpRelay, testConfig } from '@paygate/testing';
import { DataSource } from 'typeorm';
import { postgresReadiness } from './nest-providers';

/**
 * /ready is on the public port: when Postgres goes away, the pg driver's own error names the
 * address it could not reach. Postgres is reached here through a TCP relay of the test's own,
 * which is then closed, so the error is the real driver's.
 */
describe('postgresReadiness through a database that goes away (real Postgres)', () => {
  const target = new URL(testConfig().databaseUrl);
  let relay: TcpRelay;
  let dataSource: DataSource;

  beforeAll(async () => {
    relay = await new TcpRelay(target.hostname, Number(target.port || 5432)).start();
    dataSource = await new DataSource({
      type: 'postgres',
      url: relay.urlFor(target.href),
    }).initialize();
  });
  afterAll(async () => {
    await relay.cut();
    await dataSource.destroy().catch(() => undefined);
  });

  it('is ready, then answers only the error code while the service logs the whole error', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const health = new HealthController([postgresReadiness(dataSource)]);
      expect(await health.ready()).toEqual({ status: 'ready', checks: { postgres: 'ok' } });

      const port = relay.port;
      await relay.cut();
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
