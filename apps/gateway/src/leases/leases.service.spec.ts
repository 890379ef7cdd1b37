import { status } from '@grpc/grpc-js';
import type { CheckRequest, CheckResponse } from '@paygate/contracts';
import { GatewayConfig } from '../config/gateway.config';
import {
  type EntitlementClient,
  EntitlementUnavailableError,
} from '../decisions/entitlement.client';
import { LeasesService } from './leases.service';

/**
 * The entitlement service as the gateway's client sees it, down `failures` times (whichever
 * call it is); `closeLeases: 'unimplemented'` is a service older than CloseLeases.
 */
function entitlement(failures: number, closeLeases: 'ok' | 'unimplemented' = 'ok') {
  const releases: { args: unknown[]; landed: boolean }[] = [];
  const batches: { ids: string[]; landed: boolean }[] = [];
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
    closeLeases: async (ids: string[]) => {
      if (closeLeases === 'unimplemented')
        throw new EntitlementUnavailableError('unimplemented', status.UNIMPLEMENTED);
      const landed = left-- <= 0;
      batches.push({ ids, landed });
      if (!landed) throw new Error('entitlement unavailable');
      return ids.length;
    },
  };
  return { client: client as unknown as EntitlementClient, releases, batches };
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
    // The service fails three times (whichever call it is), then answers: the close of the
    // used-up lease (in a batch of its own) and the give-back are each tried again until they land.
    const { client, releases, batches } = entitlement(3);
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
      const giveBack = ['lease-req-1', 'upstream failed', 1, false, expect.any(String)];
      // Each is tried until it lands, and not after: failures first, the last try landed.
      const failedThenLanded = (landed: boolean[]) =>
        landed.length >= 2 && landed.every((l, i) => l === (i === landed.length - 1));
      expect(tries(true)).toEqual([]);
      expect(batches.every((b) => b.ids.join() === 'lease-req-1')).toBe(true);
      expect(failedThenLanded(batches.map((b) => b.landed))).toBe(true);
      // The same give-back each time, named by one id of its own: the service applies it once.
      for (const [args] of tries(false)) expect(args).toEqual(giveBack);
      expect(failedThenLanded(tries(false).map(([, landed]) => landed as boolean))).toBe(true);
      expect(batches.length + tries(false).length).toBe(3 + 2);
      const ids = releases.filter((r) => r.args[3] === false).map((r) => r.args[4]);
      expect(new Set(ids).size).toBe(1);
      // Another give-back to the same lease is another id (a caller may reuse its request id).
      service.giveBack(grant, 1, 'upstream failed');
      await jest.advanceTimersByTimeAsync(0);
      const later = releases.filter((r) => r.args[3] === false).map((r) => r.args[4]);
      expect(later).toHaveLength(ids.length + 1);
      expect(later[ids.length]).not.toBe(ids[0]);
    } finally {
      await service.onApplicationShutdown();
    }
  });

  it('closes the leases it uses up together, in one call per batch', async () => {
    const { client, releases, batches } = entitlement(0);
    const service = new LeasesService(client, new GatewayConfig());
    service.onModuleInit();
    try {
      // Three keys seen for the first time: three one-unit leases, each used up at once.
      for (const key of ['pg_a', 'pg_b', 'pg_c'])
        await service.admit({ ...ask(`req-${key}`), apiKey: key, keyId: key });
      await jest.advanceTimersByTimeAsync(100);
      expect(batches).toEqual([
        { ids: ['lease-req-pg_a', 'lease-req-pg_b', 'lease-req-pg_c'], landed: true },
      ]);
      expect(releases).toEqual([]);
    } finally {
      await service.onApplicationShutdown();
    }
  });

  it('closes each lease with a Release of its own when the service is older than CloseLeases', async () => {
    const { client, releases } = entitlement(0, 'unimplemented');
    const service = new LeasesService(client, new GatewayConfig());
    service.onModuleInit();
    try {
      for (const key of ['pg_a', 'pg_b'])
        await service.admit({ ...ask(`req-${key}`), apiKey: key, keyId: key });
      await jest.advanceTimersByTimeAsync(100);
      expect(releases.map((r) => r.args)).toEqual([
        ['lease-req-pg_a', 'used up', 0, true],
        ['lease-req-pg_b', 'used up', 0, true],
      ]);
    } finally {
      await service.onApplicationShutdown();
    }
  });

  it('sends the closes waiting for their batch at shutdown, without waiting for it', async () => {
    const { client, batches } = entitlement(0);
    const service = new LeasesService(client, new GatewayConfig());
    service.onModuleInit();
    await service.admit(ask('req-1'));
    expect(batches).toEqual([]);
    await service.onApplicationShutdown();
    expect(batches).toEqual([{ ids: ['lease-req-1'], landed: true }]);
  });
});
