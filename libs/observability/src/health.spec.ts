import { ProblemException } from '@paygate/problem-details';
import { HealthController, type ReadinessCheck } from './health';

const failure = async (controller: HealthController) => {
  try {
    await controller.ready();
  } catch (err) {
    return (err as ProblemException).problem;
  }
  throw new Error('ready');
};

describe('HealthController', () => {
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
        throw new Error('usage buffer full');
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

  it('answers when a check hangs (an exhausted pool, a blackholed host): that check fails', async () => {
    const hangs: ReadinessCheck = { name: 'postgres', check: () => new Promise(() => undefined) };
    const problem = await failure(new HealthController([hangs], 50));
    expect(problem.extensions).toEqual({
      checks: { postgres: 'failing' },
      reasons: { postgres: 'postgres did not answer within 50 ms' },
    });
  });
});
