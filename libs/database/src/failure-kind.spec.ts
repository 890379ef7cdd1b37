import { isolatable, violatesUnique } from './failure-kind';
import { QUERY_DEADLINE_PASSED } from './query-deadline';

describe('isolatable', () => {
  it.each([
    [{ code: '22003' }, true], // numeric out of range
    [{ code: '22P05' }, true], // untranslatable character (NUL)
    [{ driverError: { code: '54000' } }, true], // index row too large
    [{ code: '23514' }, true], // check violation
    [new RangeError('bad'), true],
    [{ code: '08006' }, false], // connection failure
    [{ code: '57P01' }, false], // admin shutdown
    [{ code: '40001' }, false], // serialization failure
    [{ code: '57014' }, false], // statement_timeout
    [{ driverError: { code: QUERY_DEADLINE_PASSED } }, false], // no answer: connection closed
    [new Error('Connection terminated unexpectedly'), false],
    [undefined, false],
  ])('%j → %s', (err, expected) => {
    expect(isolatable(err)).toBe(expected);
  });
});

describe('violatesUnique', () => {
  it.each([
    [{ driverError: { code: '23505', constraint: 'one_live' } }, true],
    [{ code: '23505', constraint: 'one_live' }, true], // the driver's own error
    [{ driverError: { code: '23505', constraint: 'another' } }, false],
    [{ driverError: { code: '23503', constraint: 'one_live' } }, false], // foreign key
    [new Error('one_live'), false],
    [undefined, false],
  ])('%j → %s', (err, expected) => {
    expect(violatesUnique(err, 'one_live')).toBe(expected);
  });
});
