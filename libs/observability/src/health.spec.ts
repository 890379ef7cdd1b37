import { ProblemException } from '@paygate/problem-details';
import { Logger } from '@nestjs/common';
import { HealthController, ReadinessFailure, type ReadinessCheck } from './health';

const failure = async (controller: HealthController) => {
  try {
    await controller.ready();
  } catch (err) {
    return (err as ProblemException).problem;
  }
  throw new Error('ready');
};

describe('HealthController', () => {
  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  const ok: ReadinessCheck = { name: 'postgres', check: async () => undefined };

  it('is ready when every check answers', async () => {
    expect(await new HealthController([ok]).ready()).toEqual({
      status: 'ready',
      checks: { postgres: 'ok' },
    });
  });

  it('is not ready while a check fails, naming it and why', async () => {
    const broken: ReadinessCheck = {
      name: 'usage',
      check: async () => {
        throw new ReadinessFailure('usage buffer full');
      },
    };
    expect(await failure(new HealthController([ok, broken]))).toMatchObject({
      code: 'service-unavailable',
      extensions: {
        checks: { postgres: 'ok', usage: 'failing' },
        reasons: { usage: 'usage buffer full' },
      },
    });
  });

  it("answers another error (a driver's, naming a host) by its code only, and logs it whole once", async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.3.7:5432'), {
      code: 'ECONNREFUSED',
    });
    const wordy = Object.assign(new Error('password authentication failed for user "pay"'), {
      code: 'password authentication failed for user "pay"',
    });
    const checks: ReadinessCheck[] = [
      { name: 'postgres', check: async () => Promise.reject(refused) },
      { name: 'outbox', check: async () => Promise.reject(wordy) },
    ];
    const controller = new HealthController(checks);
    const problem = await failure(controller);
    expect(problem.extensions).toEqual({
      checks: { postgres: 'failing', outbox: 'failing' },
      reasons: {
        postgres: "unavailable (ECONNREFUSED); the service's log has the error",
        outbox: "unavailable; the service's log has the error",
      },
    });
    expect(JSON.stringify(problem)).not.toMatch(/10\.0\.3\.7|pay"/);
    expect(warn.mock.calls.map(([m]) => m)).toEqual([
      'readiness check postgres fails: connect ECONNREFUSED 10.0.3.7:5432',
      'readiness check outbox fails: password authentication failed for user "pay"',
    ]);
    // A probe every few seconds does not log the same failure again.
    await failure(controller);
    expect(warn).toHaveBeenCalledTimes(2);
  });

  it('logs a failure whose numbers change from probe to probe once, and again after a recovery', async () => {
    let lag = 10;
    let failing = true;
    const stalled: ReadinessCheck = {
      name: 'usage-consumer',
      check: async () => {
        if (failing) throw new ReadinessFailure(`usage-consumer is stalled (${lag} unapplied)`);
      },
    };
    const controller = new HealthController([stalled]);
    await failure(controller);
    lag = 12;
    expect((await failure(controller)).extensions?.reasons).toEqual({
      'usage-consumer': 'usage-consumer is stalled (12 unapplied)',
    });
    expect(warn).toHaveBeenCalledTimes(1);
    failing = false;
    await controller.ready();
    failing = true;
    await failure(controller);
    expect(warn).toHaveBeenCalledTimes(2);
  });

  it('answers when a check hangs (an exhausted pool, a blackholed host): that check fails', async () => {
    const hangs: ReadinessCheck = { name: 'postgres', check: () => new Promise(() => undefined) };
    const problem = await failure(new HealthController([hangs], 50));
    expect(problem.extensions).toEqual({
      checks: { postgres: 'failing' },
      reasons: { postgres: 'postgres did not answer within 50 ms' },
    });
  });
});
