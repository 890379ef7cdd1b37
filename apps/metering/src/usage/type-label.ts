/**
 * Event types that get a metric series of their own. Types are what publishers send, not a
 * closed set: each new one was a series for the life of the process, so a flood of made-up
 * types grew memory and /metrics without end. The first MAX_TYPE_SERIES seen keep theirs;
 * the rest are counted together under OTHER_TYPES (the usage API's unmatched counts keep each
 * type, durably).
 */
export const MAX_TYPE_SERIES = 100;
export const OTHER_TYPES = '(other)';

export class TypeLabels {
  private readonly seen = new Set<string>();

  constructor(private readonly max = MAX_TYPE_SERIES) {}

  /** The label for a type: itself (cut to 100 characters) while there is room, else OTHER_TYPES. */
  of(type: string): string {
    const label = type.slice(0, 100);
    if (this.seen.has(label)) return label;
    if (this.seen.size >= this.max) return OTHER_TYPES;
    this.seen.add(label);
    return label;
  }
}
