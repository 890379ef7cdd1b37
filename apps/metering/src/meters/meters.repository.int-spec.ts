import { testConfig } from '@paygate/testing';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { MeteringConfig } from '../config/metering.config';
import { meteringDataSource } from '../database/metering.data-source';
import { MetersRepository } from './meters.repository';
import { MetersService } from './meters.service';

/** The definitions' query: MetersRepository's only statement. */
const isDefinitionsRead = (sql: unknown) =>
  typeof sql === 'string' && sql.includes('"archived_at" IS NULL') && sql.includes('"value_path"');

/**
 * MetersRepository.reload on real Postgres: a flood of callers (each POST /events with a type
 * no meter reads asks for one) shares reads, and every caller still sees what existed when it
 * asked.
 */
describe('MetersRepository.reload (real Postgres)', () => {
  let dataSource: DataSource;
  /** Another instance's connections, repository and service, where meters are made. */
  let otherDataSource: DataSource;
  let elsewhere: MetersService;
  const config = Object.assign(new MeteringConfig(), { METER_REFRESH_MS: 60_000 });
  const run = randomUUID().slice(0, 8);
  let made = 0;

  /** Counts the definitions' reads on `dataSource`, the most in flight at once, and can hold them. */
  function watchReads() {
    const real = dataSource.query.bind(dataSource);
    const stats = { started: 0, fetched: 0, inFlight: 0, mostInFlight: 0 };
    let hold: Promise<void> | undefined;
    const spy = jest.spyOn(dataSource, 'query').mockImplementation(async (sql, params) => {
      if (!isDefinitionsRead(sql)) return real(sql, params);
      stats.started++;
      stats.inFlight++;
      stats.mostInFlight = Math.max(stats.mostInFlight, stats.inFlight);
      try {
        const rows: unknown = await real(sql, params);
        stats.fetched++;
        if (hold) await hold;
        return rows;
      } finally {
        stats.inFlight--;
      }
    });
    return {
      stats,
      /** Reads answered from now on wait for the returned function's call. */
      holdAnswers: () => {
        let release = () => {};
        hold = new Promise<void>((resolve) => (release = resolve));
        return () => {
          hold = undefined;
          release();
        };
      },
      spy,
    };
  }

  async function makeMeter(): Promise<string> {
    const n = made++;
    const eventType = `itest.meters-reload.${run}.${n}`;
    await elsewhere.create({ key: `itest-reload-${run}-${n}`, eventType, aggregation: 'count' });
    return eventType;
  }

  beforeAll(async () => {
    dataSource = await meteringDataSource(testConfig().databaseUrl, 4).initialize();
    otherDataSource = await meteringDataSource(testConfig().databaseUrl, 2).initialize();
    elsewhere = new MetersService(otherDataSource, new MetersRepository(otherDataSource, config));
  });

  afterEach(() => jest.restoreAllMocks());

  afterAll(async () => {
    await dataSource.query(`DELETE FROM "metering"."meter_versions" WHERE "key" LIKE $1`, [
      `itest-reload-${run}-%`,
    ]);
    await dataSource.query(`DELETE FROM "metering"."meters" WHERE "key" LIKE $1`, [
      `itest-reload-${run}-%`,
    ]);
    await dataSource.destroy();
    await otherDataSource.destroy();
  });

  it('answers 200 callers at once with at most two reads, one at a time', async () => {
    const repository = new MetersRepository(dataSource, config);
    const eventType = await makeMeter();
    const reads = watchReads();
    await Promise.all(Array.from({ length: 200 }, () => repository.reload()));
    expect(reads.stats.started).toBeGreaterThanOrEqual(1);
    expect(reads.stats.started).toBeLessThanOrEqual(2);
    expect(reads.stats.mostInFlight).toBe(1);
    expect(repository.forType(eventType)).toHaveLength(1);
  });

  it('does not answer a caller with a read that began before it asked', async () => {
    const repository = new MetersRepository(dataSource, config);
    const reads = watchReads();
    const release = reads.holdAnswers();
    const early = repository.reload();
    // The early read has its rows (and is held); a meter made now is not among them.
    await waitFor(() => reads.stats.fetched === 1);
    const eventType = await makeMeter();
    const late = Array.from({ length: 50 }, () => repository.reload());
    release();
    await early;
    await Promise.all(late);
    expect(reads.stats.started).toBe(2);
    expect(reads.stats.mostInFlight).toBe(1);
    expect(repository.forType(eventType)).toHaveLength(1);
  });

  it('a failed read fails only its own callers; those waiting behind it get a read of their own', async () => {
    const repository = new MetersRepository(dataSource, config);
    const eventType = await makeMeter();
    const real = dataSource.query.bind(dataSource);
    let failNext = true;
    let releaseFailure = () => {};
    const failureHeld = new Promise<void>((resolve) => (releaseFailure = resolve));
    jest.spyOn(dataSource, 'query').mockImplementation(async (sql, params) => {
      if (isDefinitionsRead(sql) && failNext) {
        failNext = false;
        await failureHeld;
        throw new Error('connection terminated unexpectedly');
      }
      return real(sql, params);
    });
    const failing = repository.reload();
    const waiting = repository.reload();
    releaseFailure();
    await expect(failing).rejects.toThrow('connection terminated unexpectedly');
    await expect(waiting).resolves.toBeUndefined();
    expect(repository.forType(eventType)).toHaveLength(1);
    // Nothing is left running or queued: the next caller starts a read at once.
    await expect(repository.reload()).resolves.toBeUndefined();
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error('condition not met in 5 s');
}
