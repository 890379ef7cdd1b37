/** One partition as the progress tracker sees it. */
export interface PartitionProgress {
  partition: number;
  /** Messages on the partition past what this consumer applied (or skipped as control records). */
  lag: number;
  /** Since when the partition has had lag without the consumer moving forward (ms, epoch). */
  stuckSince?: number;
  /** Epoch ms of the oldest message not yet applied, when known (its Kafka timestamp). */
  oldestUnappliedAt?: number;
  /** Since when (ms, epoch) a batch of the partition has been running, if for the stall time. */
  batchRunningSince?: number;
}

export interface ProgressSnapshot {
  /** Total lag over the partitions assigned to this member. */
  lag: number;
  /** Age of the oldest unapplied message (0 without lag). */
  oldestUnappliedMs: number;
  /**
   * Partitions with lag that have not advanced for the stall time, and those with a batch
   * running for the stall time (assigned or not: a member whose handler hangs is evicted, and
   * the partition's new owner moves the group's offsets on, but this member still applies
   * nothing).
   */
  stalled: PartitionProgress[];
  partitions: PartitionProgress[];
  /**
   * Set while the consumer has been out of its group for the stall time (not joined since it
   * started or crashed, or stopped): it applies nothing, whatever its partitions' lag says.
   */
  outOfGroup?: { sinceMs: number; why: string };
}

interface State {
  /** Next offset to apply: after the last applied (or skipped) message. */
  position?: bigint;
  high?: bigint;
  /** When the position last moved, or lag was last seen at 0 or first seen after that. */
  advancedAt: number;
  lagging: boolean;
  oldestUnappliedAt?: number;
}

/**
 * What a consumer has and has not applied, per assigned partition, for `/ready`, metrics and
 * stall alerts: lag (high watermark minus position) and how long the position has not moved
 * while there was lag. The consumer reports what it applies; high watermarks and committed
 * offsets also come from a periodic broker query, so a consumer that receives nothing at all
 * (hung handler, crashed fetch loop) is still seen as stuck. Offsets are int64: BigInt.
 */
export class ConsumerProgress {
  private readonly partitions = new Map<number, State>();
  /** The batches being handled: partition → since when. */
  private readonly running = new Map<number, number>();
  /** Since when, and why, the member has not been in its group (undefined: it is). */
  private outOfGroup: { since: number; why: string } | undefined;

  constructor(
    private readonly stallMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The member is out of its group from now (`restart`: from now even if it already was, as
   * when it starts): not joined yet, crashed, stopped. Until it joins again, it applies
   * nothing, whatever its partitions' figures say.
   */
  leftGroup(why: string, restart = false): void {
    if (restart || !this.outOfGroup) this.outOfGroup = { since: this.now(), why };
  }

  /** The member joined its group. */
  joinedGroup(): void {
    this.outOfGroup = undefined;
  }

  /** The member's partitions after a rebalance: the others are someone else's business. */
  assign(partitions: number[]): void {
    const keep = new Set(partitions);
    for (const p of [...this.partitions.keys()]) if (!keep.has(p)) this.partitions.delete(p);
    for (const p of partitions) {
      if (!this.partitions.has(p))
        this.partitions.set(p, { advancedAt: this.now(), lagging: false });
    }
  }

  /** The broker's high watermark (next offset to be written) of a partition. */
  noteHigh(partition: number, high: string | bigint): void {
    const s = this.partitions.get(partition);
    if (!s) return;
    const h = BigInt(high);
    if (s.high === undefined || h > s.high) s.high = h;
    this.settle(s);
  }

  /** Everything before `next` is applied (committed) or needs no applying (control records). */
  noteApplied(partition: number, next: string | bigint): void {
    const s = this.partitions.get(partition);
    if (!s) return;
    const n = BigInt(next);
    if (s.position === undefined || n > s.position) {
      s.position = n;
      s.advancedAt = this.now();
      s.oldestUnappliedAt = undefined;
    }
    this.settle(s);
  }

  /** A batch is being attempted: its first message is the oldest one not applied yet. */
  noteAttempt(partition: number, firstOffset: string, timestampMs: number): void {
    const s = this.partitions.get(partition);
    if (!s) return;
    // A partition the group never committed on: it starts where its first batch does.
    if (s.position === undefined) s.position = BigInt(firstOffset);
    if (BigInt(firstOffset) >= s.position) {
      if (s.oldestUnappliedAt === undefined && Number.isFinite(timestampMs))
        s.oldestUnappliedAt = timestampMs;
    }
    this.settle(s);
  }

  /** A batch of the partition is handed to the handler. */
  batchStarted(partition: number): void {
    this.running.set(partition, this.now());
  }

  /** The partition's batch is done, applied or failed. */
  batchEnded(partition: number): void {
    this.running.delete(partition);
  }

  snapshot(): ProgressSnapshot {
    const now = this.now();
    const partitions: PartitionProgress[] = [];
    for (const [partition, s] of this.partitions) {
      this.settle(s);
      const lag = this.lagOf(s);
      partitions.push({
        partition,
        lag,
        ...(lag > 0 ? { stuckSince: s.advancedAt } : {}),
        ...(lag > 0 && s.oldestUnappliedAt !== undefined
          ? { oldestUnappliedAt: s.oldestUnappliedAt }
          : {}),
      });
    }
    const stalled = partitions.filter(
      (p) => p.stuckSince !== undefined && now - p.stuckSince >= this.stallMs,
    );
    for (const [partition, since] of this.running) {
      if (now - since < this.stallMs) continue;
      const listed = stalled.find((p) => p.partition === partition);
      if (listed) listed.batchRunningSince = since;
      else
        stalled.push({
          partition,
          lag: partitions.find((p) => p.partition === partition)?.lag ?? 0,
          stuckSince: since,
          batchRunningSince: since,
        });
    }
    const oldest = partitions
      .filter((p) => p.lag > 0)
      .map((p) => p.oldestUnappliedAt ?? p.stuckSince ?? now);
    // Out of the group for the stall time: a crash it has not come back from, a join that
    // never happens (no broker), a stop. Its partitions' figures say nothing of that.
    const out = this.outOfGroup;
    const outFor = out ? now - out.since : 0;
    return {
      lag: partitions.reduce((n, p) => n + p.lag, 0),
      oldestUnappliedMs: oldest.length > 0 ? Math.max(0, now - Math.min(...oldest)) : 0,
      stalled,
      partitions,
      ...(out && outFor >= this.stallMs ? { outOfGroup: { sinceMs: outFor, why: out.why } } : {}),
    };
  }

  private lagOf(s: State): number {
    if (s.high === undefined || s.position === undefined) return 0;
    const lag = s.high - s.position;
    return lag > 0n ? Number(lag) : 0;
  }

  /** No lag is progress too: the stall clock starts when lag appears, not before. */
  private settle(s: State): void {
    if (this.lagOf(s) === 0) {
      s.advancedAt = this.now();
      s.lagging = false;
      s.oldestUnappliedAt = undefined;
    } else if (!s.lagging) {
      s.advancedAt = this.now();
      s.lagging = true;
    }
  }
}
