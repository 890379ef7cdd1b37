import type { ReadinessCheck } from '@paygate/observability';
import type { ProgressSnapshot } from './consumer-progress';

/**
 * A readiness check that fails while a consumer is stalled (lag that has not moved for the
 * stall time), naming the partitions, their lag and since when, so `/ready` tells the truth
 * about a service that answers HTTP but applies nothing.
 */
export function consumerReadiness(
  name: string,
  progress: () => ProgressSnapshot | undefined,
): ReadinessCheck {
  return {
    name,
    check: async () => {
      const snapshot = progress();
      if (!snapshot || snapshot.stalled.length === 0) return;
      const now = Date.now();
      const parts = snapshot.stalled.map(
        (p) =>
          `partition ${p.partition}: ${p.lag} unapplied, no progress for ${Math.round((now - (p.stuckSince ?? now)) / 1000)} s`,
      );
      throw new Error(`${name} is stalled (${parts.join('; ')})`);
    },
  };
}
