import { consumerReadiness, type ConsumerHost } from '@paygate/messaging';
import { ReadinessFailure, type ReadinessCheck } from '@paygate/observability';
import type { EntitlementClient } from '../decisions/entitlement.client';
import type { RouteDefinition } from '../routes/route';
import type { UsagePublisher } from '../usage/usage.publisher';

/**
 * What the gateway needs to take traffic, for /ready: the entitlement service reachable
 * (unless a route fails open: then the operator chose to serve through its outage, and
 * taking the gateway out of its load balancer would undo that) and taking this gateway's
 * ENTITLEMENT_GRPC_TOKEN and TLS handshake (whatever the routes' policies: a refused token or
 * a failed handshake is a misconfiguration, not an outage to serve through), room in the usage
 * buffer (full, every metered request is a 503), and its entitlement.changed consumer not
 * stalled (stalled, a revoked key is admitted from its leases until they end).
 */
export function gatewayReadiness(
  entitlement: Pick<EntitlementClient, 'reachable' | 'authenticated'>,
  usage: Pick<UsagePublisher, 'saturated' | 'buffered'>,
  changes: Pick<ConsumerHost, 'progress'>,
  routes: () => readonly RouteDefinition[],
): ReadinessCheck[] {
  return [
    {
      name: 'entitlement',
      check: async () => {
        if (!routes().some((r) => r.failurePolicy === 'open')) await entitlement.reachable();
        await entitlement.authenticated();
      },
    },
    {
      name: 'usage',
      check: async () => {
        if (usage.saturated)
          throw new ReadinessFailure(
            `usage buffer full (${usage.buffered} events): Kafka is not taking usage, metered requests are refused`,
          );
      },
    },
    consumerReadiness('entitlement-changes', () => changes.progress()),
  ];
}
