import type { ProgressSnapshot } from '@paygate/messaging';
import type { RouteDefinition } from '../routes/route';
import { gatewayReadiness } from './gateway-readiness';

describe('gatewayReadiness', () => {
  const route = (failurePolicy?: 'open' | 'closed') =>
    ({
      name: 'r',
      pathPrefix: '/r',
      upstream: 'http://u',
      feature: 'f',
      cost: 1,
      failurePolicy,
    }) as RouteDefinition;
  const state = {
    reachable: true,
    authenticated: true,
    saturated: false,
    stalled: [] as ProgressSnapshot['stalled'],
    routes: [route()],
  };
  const checks = gatewayReadiness(
    {
      reachable: async () => {
        if (!state.reachable)
          throw new Error("the entitlement service's gRPC channel is TRANSIENT_FAILURE");
      },
      authenticated: async () => {
        if (!state.authenticated)
          throw new Error("the entitlement service refuses this gateway's ENTITLEMENT_GRPC_TOKEN");
      },
    },
    {
      get saturated() {
        return state.saturated;
      },
      buffered: 100,
    },
    { progress: () => ({ stalled: state.stalled }) as ProgressSnapshot },
    () => state.routes,
  );
  const failing = async () => {
    const names: string[] = [];
    for (const c of checks) await c.check().catch(() => names.push(c.name));
    return names;
  };
  afterEach(() =>
    Object.assign(state, {
      reachable: true,
      authenticated: true,
      saturated: false,
      stalled: [],
      routes: [route()],
    }),
  );

  it('is ready with the service reachable, room for usage and its changes applied', async () => {
    expect(checks.map((c) => c.name)).toEqual(['entitlement', 'usage', 'entitlement-changes']);
    expect(await failing()).toEqual([]);
  });

  it('is not ready while the entitlement service cannot be reached, unless a route fails open', async () => {
    state.reachable = false;
    expect(await failing()).toEqual(['entitlement']);
    state.routes = [route('closed'), route('open')];
    expect(await failing()).toEqual([]);
  });

  it('is not ready while the service refuses its token, whatever the routes fail to', async () => {
    state.authenticated = false;
    expect(await failing()).toEqual(['entitlement']);
    // A refused token is not an outage the operator chose to serve through.
    state.routes = [route('open')];
    expect(await failing()).toEqual(['entitlement']);
  });

  it('is not ready while the usage buffer is full, or its changes consumer is stalled', async () => {
    state.saturated = true;
    state.stalled = [
      { partition: 0, lag: 3, stuckSince: Date.now() - 90_000 },
    ] as ProgressSnapshot['stalled'];
    expect(await failing()).toEqual(['usage', 'entitlement-changes']);
  });
});
