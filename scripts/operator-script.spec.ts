import type { DataSource } from 'typeorm';
import { DEFAULT_DATABASE_URL } from '@paygate/config';
import { runScript, withDatabase } from './operator-script';

/** A data source that records what the script did with it. */
function fakeDataSource(events: string[]): DataSource {
  const dataSource = {
    initialize: async () => {
      events.push('initialize');
      return dataSource;
    },
    destroy: async () => {
      events.push('destroy');
    },
  };
  return dataSource as unknown as DataSource;
}

describe('withDatabase', () => {
  const saved = process.env.DATABASE_URL;
  afterEach(() => {
    if (saved === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = saved;
  });

  it('opens DATABASE_URL (the local default when unset), and closes it after the work', async () => {
    const events: string[] = [];
    const urls: string[] = [];
    const open = (url: string): DataSource => {
      urls.push(url);
      return fakeDataSource(events);
    };
    delete process.env.DATABASE_URL;
    const done = withDatabase(open, async () => {
      events.push('use');
      return 7;
    });
    await expect(done).resolves.toBe(7);
    process.env.DATABASE_URL = 'postgres://elsewhere/db';
    await withDatabase(open, async () => 0);
    expect(urls).toEqual([DEFAULT_DATABASE_URL, 'postgres://elsewhere/db']);
    expect(events).toEqual(['initialize', 'use', 'destroy', 'initialize', 'destroy']);
  });

  it('closes it when the work fails, and passes the error on', async () => {
    const events: string[] = [];
    const failing = withDatabase(
      () => fakeDataSource(events),
      async () => {
        throw new Error('boom');
      },
    );
    await expect(failing).rejects.toThrow('boom');
    expect(events).toEqual(['initialize', 'destroy']);
  });
});

describe('runScript', () => {
  it('exits with the code the script returns; a thrown error is printed and exits 2', async () => {
    const exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      runScript(async () => 1);
      runScript(async () => {
        throw new Error('no database');
      });
      await new Promise((resolve) => setImmediate(resolve));
      expect(exit.mock.calls).toEqual([[1], [2]]);
      expect(error).toHaveBeenCalledWith('no database');
    } finally {
      exit.mockRestore();
      error.mockRestore();
    }
  });
});
