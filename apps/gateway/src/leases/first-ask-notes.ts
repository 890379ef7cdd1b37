import type { ChangeTransaction, CheckResponse } from '@paygate/contracts';
import { type NotedChanges, madeWithAll, withChange } from './noted-changes';

/** Customers noted while first asks are in flight, past which notes no ask needs are pruned. */
export const PRUNE_NOTES_AT = 1024;

/** A customer's forgets while first asks were in flight: the count at the last one, and its changes. */
interface ForgetsWhileAsked {
  at: number;
  changes: NotedChanges;
}

/**
 * The changes that concern first asks in flight: asks for books no grant has tied to a
 * customer yet, so that a change of the customer (LeasePool.forgetCustomer) cannot find them
 * by customer. While any are in flight, each forgotten customer is noted with the count of
 * forgets at its last forget and the transactions of its changes. A grant that lands for a
 * customer forgotten after its ask began is not kept (the next request asks again), or a key
 * revoked while its first lease was asked for would be admitted from that lease until it went
 * idle or old; unless the grant was made with every one of those changes (a new customer's
 * first request, its own setup's events still on their way). Other customers' changes leave
 * it be.
 *
 * Bounded: notes at or before the oldest ask in flight concern none, and are pruned once
 * PRUNE_NOTES_AT customers are noted, so a busy gateway (some first ask always in flight)
 * keeps neither every customer nor a customer's every change; all go once no ask is in flight.
 */
export class FirstAskNotes<Book> {
  /** Each first ask in flight, with the count of forgets when it began. */
  private readonly asking = new Map<Book, number>();
  private forgets = 0;
  private readonly noted = new Map<string, ForgetsWhileAsked>();
  private pruneAt = PRUNE_NOTES_AT;

  /** A first ask of the book begins; returns its mark for `madeWithChanges`. */
  begin(book: Book): number {
    this.asking.set(book, this.forgets);
    return this.forgets;
  }

  /** The ask of the book is answered (or failed). */
  end(book: Book): void {
    this.asking.delete(book);
    // Nothing in flight can be concerned by the forgets noted so far.
    if (this.asking.size === 0) this.noted.clear();
  }

  /** A customer's leases were dropped for a change (its transaction, when known). */
  forgot(customerId: string, change: ChangeTransaction | undefined): void {
    this.forgets += 1;
    if (this.asking.size > 0) this.note(customerId, change);
  }

  /**
   * Whether the grant of a first ask begun at `since` may be kept: its customer was not
   * forgotten since, or only for changes the grant was made with. Forgets noted before `since`
   * count too (a customer's changes are noted together): at worst a grant is asked for again.
   */
  keeps(grant: CheckResponse, since: number): boolean {
    const noted = this.noted.get(grant.customerId);
    return !noted || noted.at <= since || madeWithAll(grant, noted.changes);
  }

  /** Customers noted now. */
  get size(): number {
    return this.noted.size;
  }

  private note(customerId: string, change: ChangeTransaction | undefined): void {
    let oldest = Number.POSITIVE_INFINITY;
    for (const since of this.asking.values()) oldest = Math.min(oldest, since);
    if (this.noted.size >= this.pruneAt) {
      for (const [id, noted] of this.noted) if (noted.at <= oldest) this.noted.delete(id);
      // Twice what is left, so a long ask in flight makes pruning rarer, not every forget.
      this.pruneAt = Math.max(PRUNE_NOTES_AT, 2 * this.noted.size);
    }
    const earlier = this.noted.get(customerId);
    const changes = earlier && earlier.at > oldest ? earlier.changes : [];
    this.noted.set(customerId, { at: this.forgets, changes: withChange(changes, change) });
  }
}
