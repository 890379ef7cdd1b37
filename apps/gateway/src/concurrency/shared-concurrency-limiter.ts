import type { HoldConcurrencyRequest, HoldConcurrencyResponse } from '@paygate/contracts';

/** The entitlement service's HoldConcurrency (EntitlementClient.holdConcurrency). */
export type HoldConcurrency = (request: HoldConcurrencyRequest) => Promise<HoldConcurrencyResponse>;

/** An admitted request's slot, given back by `release` (once; later calls do nothing). */
export interface ConcurrencySlot {
  allowed: true;
  release: () => void;
}

/** A refusal: `limit` requests of the customer were in flight as far as this replica knows. */
export interface ConcurrencyRefusal {
  allowed: false;
  limit: number;
}

export interface ConcurrencyLimiterOptions {
  /** This replica's id at the service, for its lifetime. */
  holder: string;
  /** The largest number of unused slots a replica keeps, in percent of the limit (≥ 1 slot). */
  sparePercent: number;
  /** How long a hold lasts at the service unless set again; `refresh` must run more often. */
  holdSeconds: number;
  /** Called when the service cannot answer (the request is then counted by this replica alone). */
  onUnavailable?: (err: unknown) => void;
  /** The clock, in ms (tests set it). */
  now?: () => number;
}

/** What this replica holds of one customer's limit for one feature. */
interface Book {
  customerId: string;
  feature: string;
  limit: number;
  /** Requests admitted here and not yet released. */
  inFlight: number;
  /** Slots the service last said this replica holds. */
  held: number;
  /** Requests waiting for a hold to be set. */
  waiting: number;
  /** The hold being set: one at a time per book, so the service sees them in order. */
  setting?: Promise<boolean>;
  /**
   * The slots that hold asks for. Until it is answered the replica admits up to the smaller
   * of it and `held`: the service may already have given the rest to another replica.
   */
  pending?: number;
  /** When inFlight last became 0. */
  idleSinceMs: number;
}

/**
 * Plan concurrency limits (requests in flight at once) shared by every gateway replica. Each
 * replica holds slots of a customer's limit at the entitlement service (HoldConcurrency), which
 * never lets the holds of all replicas sum past the limit, and admits locally while its own
 * requests in flight are fewer than its slots. A replica keeps a few unused slots (the spare,
 * `sparePercent` of the limit) so most requests make no remote call, asks for more when they
 * run out, and gives back what is over twice the spare as requests finish.
 *
 * Bounds, per customer and feature: never more than the limit in flight across replicas while
 * the service answers; a request may be refused while other replicas hold up to 2 × spare
 * unused slots each, so the customer's (N − 1) × 2 × spare. A replica that dies keeps its
 * slots until its hold expires (`holdSeconds`): fewer admitted, never more. While the service
 * cannot answer, each replica counts alone up to the limit: up to N × the limit in flight.
 */
export class SharedConcurrencyLimiter {
  private readonly books = new Map<string, Book>();

  constructor(
    private readonly hold: HoldConcurrency,
    private readonly options: ConcurrencyLimiterOptions,
  ) {}

  /** Admits one request of the customer, or refuses it when its limit is in flight. */
  async acquire(
    customerId: string,
    feature: string,
    limit: number,
  ): Promise<ConcurrencySlot | ConcurrencyRefusal> {
    const key = `${customerId}:${feature}`;
    let book = this.books.get(key);
    if (!book) {
      book = { customerId, feature, limit, inFlight: 0, held: 0, waiting: 0, idleSinceMs: 0 };
      this.books.set(key, book);
    }
    // The latest decision's limit wins (the plan may have changed).
    book.limit = limit;
    for (;;) {
      if (book.inFlight < this.capacity(book)) return this.admit(book);
      // This replica alone has the limit in flight (it was lowered, or counted alone).
      if (book.inFlight >= limit) return { allowed: false, limit };
      book.waiting += 1;
      let gotAll: boolean;
      try {
        gotAll = await this.set(book, false);
      } catch (err) {
        this.options.onUnavailable?.(err);
        // Counted here alone until the service answers again.
        return book.inFlight < limit ? this.admit(book) : { allowed: false, limit };
      } finally {
        book.waiting -= 1;
      }
      if (book.inFlight < this.capacity(book)) return this.admit(book);
      // The service had no more for this replica: the others hold the rest.
      if (!gotAll) return { allowed: false, limit };
      // Another request took what this hold brought (or it was set for fewer): ask again.
    }
  }

  /**
   * Sets every book's hold again before it expires, giving back the slots of customers idle
   * for `idleMs` and forgetting them once they hold none. Called more often than holdSeconds.
   */
  async refresh(idleMs: number): Promise<void> {
    const nowMs = this.now();
    const sets: Promise<unknown>[] = [];
    for (const [key, book] of this.books) {
      const idle = book.inFlight === 0 && book.waiting === 0 && nowMs - book.idleSinceMs >= idleMs;
      if (idle && book.held === 0 && !book.setting) {
        this.books.delete(key);
        continue;
      }
      sets.push(this.set(book, idle).catch((err: unknown) => this.options.onUnavailable?.(err)));
    }
    await Promise.all(sets);
  }

  /** Gives every slot back (shutdown): other replicas may use them at once. */
  async releaseAll(): Promise<void> {
    await Promise.all(
      [...this.books.values()].map(async (book) => {
        if (book.setting) await book.setting.catch(() => undefined);
        if (book.held > 0) await this.set(book, true).catch(() => undefined);
      }),
    );
  }

  /** Customers and features this replica tracks. */
  get size(): number {
    return this.books.size;
  }

  /** Requests in flight on this replica, for every customer. */
  get inFlight(): number {
    let total = 0;
    for (const book of this.books.values()) total += book.inFlight;
    return total;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** What this replica may have in flight now (see Book.pending). */
  private capacity(book: Book): number {
    return Math.min(book.held, book.pending ?? book.held, book.limit);
  }

  private spare(limit: number): number {
    return Math.max(1, Math.ceil((limit * this.options.sparePercent) / 100));
  }

  private admit(book: Book): ConcurrencySlot {
    book.inFlight += 1;
    let released = false;
    return {
      allowed: true,
      release: () => {
        if (released) return;
        released = true;
        book.inFlight -= 1;
        if (book.inFlight === 0) book.idleSinceMs = this.now();
        this.giveBackUnused(book);
      },
    };
  }

  /** Slots over twice the spare go back now, so other replicas can use them. */
  private giveBackUnused(book: Book): void {
    if (book.setting || book.held <= book.inFlight + book.waiting + 2 * this.spare(book.limit))
      return;
    this.set(book, false).catch((err: unknown) => this.options.onUnavailable?.(err));
  }

  /**
   * Sets the book's hold to what it needs now (none when `giveBack`); true when the service
   * granted all of it. A hold already being set is joined instead: its answer is as fresh.
   */
  private set(book: Book, giveBack: boolean): Promise<boolean> {
    if (book.setting) return book.setting;
    const wanted = giveBack
      ? 0
      : Math.min(book.limit, book.inFlight + book.waiting + this.spare(book.limit));
    const setting = this.hold({
      customerId: book.customerId,
      feature: book.feature,
      holder: this.options.holder,
      limit: book.limit,
      slots: wanted,
      holdSeconds: this.options.holdSeconds,
    })
      .then((answer) => {
        book.held = answer.held;
        return answer.held >= wanted;
      })
      .finally(() => {
        book.setting = undefined;
        book.pending = undefined;
        // Requests that finished while it was being set may have left too many unused.
        this.giveBackUnused(book);
      });
    book.setting = setting;
    book.pending = wanted;
    return setting;
  }
}
