import type { CheckRequest, CheckResponse } from '@paygate/contracts';
import { GatewayConfig } from '../config/gateway.config';
import type { EntitlementClient } from '../decisions/entitlement.client';
import { LeasesService } from './leases.service';

/** The entitlement service as the gateway's client sees it, its Release down `failures` times. */
function entitlement(failures: number) {
  const releases: { args: unknown[]; landed: boolean }[] = [];
  let left = failures;
  const client = {
    check: async (request: CheckRequest): Promise<CheckResponse> => ({
      allowed: true,
      customerId: 'cust-1',
      leaseId: `lease-${request.requestId}`,
      plan: 'pro',
      warnings: [],
      leaseUnits: request.leaseUnits,
      denial: null,
    }),
    release: async (...args: unknown[]) => {
      const landed = left-- <= 0;
      releases.push({ args, landed });
      if (!landed) throw new Error('entitlement unavailable');
      return true;
    },
  };
  return { client: client as unknown as EntitlementClient, releases };
}

const ask = (requestId: string) => ({
  apiKey: 'pg_key',
  feature: 'requests',
  cost: 1,
  requestId,
  requiredScopes: [],
});

describe('LeasesService', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('gives an unserved request’s units back to a closed lease until the service takes them, naming the request', async () => {
    // The service's Release fails three times (whichever call it is), then answers: the close
    // of the used-up lease and the give-back are each tried again until they land.
    const { client, releases } = entitlement(3);
    const service = new LeasesService(client, new GatewayConfig());
    service.onModuleInit();
    try {
      // A key seen for the first time: a lease of one unit, used up and closed at once.
      const grant = await service.admit(ask('req-1'));
      expect(grant).toMatchObject({ allowed: true, leaseId: 'lease-req-1', leaseUnits: 1 });
      // Its upstream failed: the unit goes back to the (closed) lease, by a Release.
      service.giveBack(grant, 1, 'upstream failed');
      await jest.advanceTimersByTimeAsync(5_000);
      const tries = (close: boolean) =>
        releases.filter((r) => r.args[3] === close).map((r) => [r.args, r.landed]);
      const close = ['lease-req-1', 'used up', 0, true];
      const giveBack = ['lease-req-1', 'upstream failed', 1, false, expect.any(String)];
      expect(tries(true)).toEqual([
        [close, false],
        [close, false],
        [close, true],
      ]);
      // The same give-back each time, named by one id of its own: the service applies it once.
      expect(tries(false)).toEqual([
        [giveBack, false],
        [giveBack, true],
      ]);
      const ids = releases.filter((r) => r.args[3] === false).map((r) => r.args[4]);
      expect(new Set(ids).size).toBe(1);
      // Another give-back to the same lease is another id (a caller may reuse its request id).
      service.giveBack(grant, 1, 'upstream failed');
      await jest.advanceTimersByTimeAsync(0);
      const later = releases.filter((r) => r.args[3] === false).map((r) => r.args[4]);
      expect(later).toHaveLength(3);
      expect(later[2]).not.toBe(ids[0]);
    } finally {
      await service.onApplicationShutdown();
    }
  });
});
