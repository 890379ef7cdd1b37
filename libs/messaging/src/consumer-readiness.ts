import { ReadinessFailure, type ReadinessCheck } from '@paygate/observability';
import type { ProgressSnapshot } from './consumer-progress';

/**
 * A readiness check that fails while a consumer is stalled (lag that has not moved for the
 * stall time), naming the partitions, their lag and since when, or out of its group for the
 * stall time (crashed, never joined, stopped), so `/ready` tells the truth about a service
 * that answers HTTP but applies nothing.
 */
export function consumerReadiness(
  name: string,
  progress: () => ProgressSnapshot | undefined,
): ReadinessCheck {
  return {
    name,
    check: async () => {
      const snapshot = progress();
      const out = snapshot?.outOfGroup;
      if (out) {
        const seconds = Math.round(out.sinceMs / 1000);
        throw new ReadinessFailure(
          `${name} has not been in its consumer group for ${seconds} s (${out.why})`,
        );
      }
      if (!snapshot || snapshot.stalled.length === 0) return;
      const now = Date.now();
      const seconds = (since: number | undefined) => Math.round((now - (since ?? now)) / 1000);
      const parts = snapshot.stalled.map(
        (p) =>
          `partition ${p.partition}: ${p.lag} unapplied, no progress for ${seconds(p.stuckSince)} s` +
          (p.batchRunningSince !== undefined
            ? `, a batch running for ${seconds(p.batchRunningSince)} s`
            : ''),
      );
      throw new ReadinessFailure(`${name} is stalled (${parts.join('; ')})`);
    },
  };
}
