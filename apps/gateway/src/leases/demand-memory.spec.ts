import { DemandMemory } from './demand-memory';

describe('DemandMemory', () => {
  it('recalls a busy key once, within its span', () => {
    const memory = new DemandMemory(1_000);
    memory.remember('k', 40, 0);
    expect(memory.recall('k', 999)).toBe(40);
    // The new book carries it now.
    expect(memory.recall('k', 999)).toBeUndefined();
  });

  it('does not recall demand older than its span, nor keys of one unit', () => {
    const memory = new DemandMemory(1_000);
    memory.remember('old', 40, 0);
    memory.remember('one', 1, 0);
    expect(memory.recall('old', 1_000)).toBeUndefined();
    expect(memory.recall('one', 1)).toBeUndefined();
  });

  it('prunes oldest first, and a key remembered again counts from its new time', () => {
    const memory = new DemandMemory(1_000);
    memory.remember('a', 10, 0);
    memory.remember('b', 20, 100);
    // 'a' again, later than 'b': were it left first in the map, pruning at 1,050 would stop
    // at it and keep 'b' (expired) forever.
    memory.remember('a', 30, 200);
    memory.prune(1_150);
    expect(memory.size).toBe(1);
    expect(memory.recall('b', 1_150)).toBeUndefined();
    expect(memory.recall('a', 1_150)).toBe(30);
  });
});
