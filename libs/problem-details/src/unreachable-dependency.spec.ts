import { isUnreachableDependency } from './unreachable-dependency';

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code });
/** TypeORM's QueryFailedError: the driver's error as driverError (and its fields copied). */
const queryFailed = (driverError: Error) =>
  Object.assign(new Error(driverError.message), { name: 'QueryFailedError', driverError });

describe('isUnreachableDependency', () => {
  it('takes the errors of a database that cannot be reached or went away', () => {
    for (const error of [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      new Error('Connection terminated unexpectedly'),
      new Error('Connection terminated due to connection timeout'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Query read timeout'),
      pgError('PAYGATE_QUERY_DEADLINE', 'no answer from the database in time'),
      pgError('57P01', 'terminating connection due to administrator command'),
      pgError('57P03', 'the database system is starting up'),
      pgError('08006', 'connection failure'),
      pgError('53300', 'sorry, too many clients already'),
      pgError('57014', 'canceling statement due to statement timeout'),
      pgError('25006', 'cannot execute UPDATE in a read-only transaction'),
      pgError('55000', 'database "paygate" is not currently accepting connections'),
      queryFailed(pgError('57P01', 'terminating connection due to administrator command')),
      Object.assign(new Error('wrapped'), { cause: new Error('Connection terminated') }),
    ])
      expect([error.message, isUnreachableDependency(error)]).toEqual([error.message, true]);
  });

  it('leaves bugs and bad data to be the 500s they are', () => {
    for (const error of [
      new TypeError("Cannot read properties of undefined (reading 'id')"),
      pgError('23505', 'duplicate key value violates unique constraint'),
      pgError('22P02', 'invalid input syntax for type uuid'),
      pgError('55000', 'object not in prerequisite state'),
      pgError('42P01', 'relation "x" does not exist'),
      pgError('08P01', 'bind message has 70000 parameter formats but 0 parameters'),
      queryFailed(pgError('22003', 'value out of range')),
      new Error('Connection refused by the payment provider, said the message'),
    ])
      expect([error.message, isUnreachableDependency(error)]).toEqual([error.message, false]);
    for (const value of [undefined, null, 'ECONNREFUSED', 42])
      expect(isUnreachableDependency(value)).toBe(false);
  });
});
