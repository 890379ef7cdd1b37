export interface CloseBatchOptions {
  /** How long the first close of a batch waits for others before the batch is sent. */
  delayMs: number;
  /** A batch this large is sent at once. */
  max: number;
}

/**
 * Closes of leases that give nothing back (used up: every unit was served), gathered for up
 * to `delayMs` and sent as one call. Thousands of quiet customers each use a one-unit lease up
 * per request; a call and a statement each cost the service about what the grant did, and a
 * batch costs it one. Nothing waits on such a close but the lease's expiry, which is minutes
 * away (LEASE_TTL_SECONDS), so the delay moves no bound.
 *
 * `send` never throws: it keeps what failed to try again (LeasesService's retries). After
 * drain(), closes are sent as soon as the current task is done, so a shutdown's closes go out
 * together and at once.
 */
export class CloseBatch {
  private ids: string[] = [];
  private sent: Promise<void> | undefined;
  private release: (() => void) | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private draining = false;
  /** Batches sent and not yet answered (landed, or kept to try again). */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly send: (leaseIds: string[]) => Promise<void>,
    private readonly options: CloseBatchOptions,
  ) {}

  /** Closes waiting to be sent. */
  get size(): number {
    return this.ids.length;
  }

  /** Adds a close; settles when the batch it is in was sent (landed, or kept to try again). */
  add(leaseId: string): Promise<void> {
    this.ids.push(leaseId);
    const sent = (this.sent ??= new Promise<void>((resolve) => (this.release = resolve)));
    if (this.ids.length >= this.options.max) void this.flush();
    else if (this.draining) void Promise.resolve().then(() => this.flush());
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.options.delayMs);
      // A process with nothing else to do does not stay up for its closes: shutdown drains.
      this.timer.unref?.();
    }
    return sent;
  }

  /** Sends what waits now; settles when it was sent. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const ids = this.ids;
    const release = this.release;
    if (ids.length === 0) return;
    this.ids = [];
    this.sent = undefined;
    this.release = undefined;
    // `send` keeps what fails; a throw all the same (a bug) must not leave callers waiting.
    const sending = this.send(ids).catch(() => undefined);
    this.inFlight.add(sending);
    try {
      await sending;
    } finally {
      this.inFlight.delete(sending);
      release?.();
    }
  }

  /**
   * From now on closes are sent without waiting (a shutdown); sends what waits, and settles
   * once every batch sent so far was answered, so that what failed is kept to try again by
   * then.
   */
  async drain(): Promise<void> {
    this.draining = true;
    await Promise.all([this.flush(), ...this.inFlight]);
  }
}
