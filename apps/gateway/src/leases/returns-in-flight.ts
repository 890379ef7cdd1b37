import type { LeaseBook } from './lease-book';

/**
 * Units on their way back to the ledger (a lease closed with units left, units of a request
 * that was not served released), by the names they concern: a customer and a lease book.
 *
 * A lease asked for while such a return is in flight may be answered from a balance that does
 * not count them yet: a customer whose only credit is coming back from a refused request would
 * be refused (402) by the very next request. So a refill waits for the returns that concern its
 * book or its customer first; they are rare (idle, dropped, aged or given-back units) and take
 * one round trip.
 */
export class ReturnsInFlight {
  private readonly pending = new Map<string, Set<Promise<unknown>>>();

  /** Notes a return under each name until it settles, whether it succeeded or not. */
  track(names: readonly string[], returning: Promise<unknown>): void {
    const settled = returning.then(
      () => undefined,
      () => undefined,
    );
    for (const name of names) {
      let set = this.pending.get(name);
      if (!set) this.pending.set(name, (set = new Set()));
      set.add(settled);
    }
    void settled.then(() => {
      for (const name of names) {
        const set = this.pending.get(name);
        set?.delete(settled);
        if (set?.size === 0) this.pending.delete(name);
      }
    });
  }

  /** Settles once every return in flight under any of the names has; undefined if none is. */
  settled(names: readonly string[]): Promise<void> | undefined {
    let waits: Promise<unknown>[] | undefined;
    for (const name of names) {
      const set = this.pending.get(name);
      if (set) (waits ??= []).push(...set);
    }
    return waits && Promise.all(waits).then(() => undefined);
  }
}

/** What a book's returns are noted under: its key, and its customer once a grant named it. */
export function returnNames(book: LeaseBook): string[] {
  const names = [`book:${book.key}`];
  if (book.customerId) names.push(customerName(book.customerId));
  return names;
}

export function customerName(customerId: string): string {
  return `customer:${customerId}`;
}
