import { OTHER_TYPES, TypeLabels } from './type-label';

describe('TypeLabels', () => {
  it('gives the first types a series each and counts the rest together', () => {
    const labels = new TypeLabels(3);
    expect(['a', 'b', 'a', 'c'].map((t) => labels.of(t))).toEqual(['a', 'b', 'a', 'c']);
    // A flood of made-up types: one more series in all, however many.
    const flood = Array.from({ length: 10_000 }, (_, i) => labels.of(`made-up-${i}`));
    expect(new Set(flood)).toEqual(new Set([OTHER_TYPES]));
    // Those seen before keep theirs.
    expect(labels.of('b')).toBe('b');
    expect(labels.of('x'.repeat(500))).toBe(OTHER_TYPES);
  });
});
