/** The granularity of the schedule: deadlines are looked at to this many ms. */
export const SWEEP_SLOT_MS = 250;

/** What the schedule keeps on each item: the slot it is due in, if any. */
export interface Scheduled {
  slot?: number;
}

/**
 * Items (the lease pool's books) by the slot of SWEEP_SLOT_MS in which each is next due, so a
 * sweep looks at the items of past slots only, not at every item held. An item is in one slot
 * at a time: scheduling it earlier moves it, later is ignored (it is looked at when first due,
 * and scheduled again then). The invariant for callers: an item is never looked at later than
 * the earliest time it was scheduled for, rounded up to the next sweep.
 */
export class SweepSchedule<T extends Scheduled> {
  private readonly slots = new Map<number, T[]>();

  /** Makes sure the item is handed out by the first `takeDue` at or after `at`. */
  schedule(item: T, at: number): void {
    const slot = Math.floor(at / SWEEP_SLOT_MS);
    if (item.slot !== undefined && item.slot <= slot) return;
    item.slot = slot;
    const items = this.slots.get(slot);
    if (items) items.push(item);
    else this.slots.set(slot, [item]);
  }

  /**
   * The items due at `now`, each once and taken off the schedule. Items scheduled again into
   * a past slot while the caller handles these wait for the next call.
   */
  takeDue(now: number): T[] {
    const current = Math.floor(now / SWEEP_SLOT_MS);
    const due: T[] = [];
    for (const slot of [...this.slots.keys()].filter((s) => s <= current)) {
      const items = this.slots.get(slot) ?? [];
      this.slots.delete(slot);
      for (const item of items) {
        // Moved to an earlier slot since (and handed out there).
        if (item.slot !== slot) continue;
        item.slot = undefined;
        due.push(item);
      }
    }
    return due;
  }
}
