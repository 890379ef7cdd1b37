import { schemaTables } from './tables';

describe('schemaTables', () => {
  it('quotes and qualifies each table with the schema', () => {
    const t = schemaTables('billing', ['grants', 'lease_grant_allocations']);
    expect(t.grants).toBe('"billing"."grants"');
    expect(t.lease_grant_allocations).toBe('"billing"."lease_grant_allocations"');
    expect(Object.isFrozen(t)).toBe(true);
  });

  it.each(['Grants', 'a"b', 'x; DROP TABLE y', '1abc', ''])(
    'refuses %j, which is not a plain identifier',
    (bad) => {
      expect(() => schemaTables('s', [bad])).toThrow('not a plain SQL identifier');
      expect(() => schemaTables(bad, ['t'])).toThrow('not a plain SQL identifier');
    },
  );
});
