import 'reflect-metadata';
import { ConfigError, loadConfig } from '@paygate/config';
import { MeteringConfig } from './metering.config';

const base = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/paygate',
  KAFKA_BROKERS: '127.0.0.1:9092',
  ADMIN_TOKEN: 'x'.repeat(32),
};
const load = (env: Record<string, string>) => () => loadConfig(MeteringConfig, { ...base, ...env });

describe('MeteringConfig: DEAD_LETTER_RETENTION_HOURS', () => {
  it('keeps letters 30 days by default, and refuses 0 or what is not a count of hours', () => {
    expect(load({})().deadLetterRetentionHours).toBe(720);
    expect(load({ DEAD_LETTER_RETENTION_HOURS: '168' })().deadLetterRetentionHours).toBe(168);
    // 0 would delete every letter at once.
    for (const bad of ['0', '-1', '1.5', '1e3']) {
      const loading = load({ DEAD_LETTER_RETENTION_HOURS: bad });
      expect(loading).toThrow(ConfigError);
      expect(loading).toThrow(/DEAD_LETTER_RETENTION_HOURS/);
    }
  });

  it('keeps letters for the dedupe window at least, in which a replay can still count', () => {
    expect(load({ DEAD_LETTER_RETENTION_HOURS: '24' })().deadLetterRetentionHours).toBe(168);
    // A service whose dedupe window was longer than the default retention still starts.
    expect(load({ DEDUPE_WINDOW_HOURS: '1000' })().deadLetterRetentionHours).toBe(1000);
  });
});

describe('MeteringConfig: UNMATCHED_EVENTS_RETENTION_DAYS', () => {
  it('keeps 90 days by default, and refuses 0 or what is not a count of days', () => {
    expect(load({})().unmatchedEventsRetentionDays).toBe(90);
    expect(load({ UNMATCHED_EVENTS_RETENTION_DAYS: '7' })().unmatchedEventsRetentionDays).toBe(7);
    for (const bad of ['0', '-1', '2.5', 'x']) {
      const loading = load({ UNMATCHED_EVENTS_RETENTION_DAYS: bad });
      expect(loading).toThrow(ConfigError);
      expect(loading).toThrow(/UNMATCHED_EVENTS_RETENTION_DAYS/);
    }
  });

  it('keeps the days of the dedupe window at least, rounded up', () => {
    expect(load({ UNMATCHED_EVENTS_RETENTION_DAYS: '1' })().unmatchedEventsRetentionDays).toBe(7);
    expect(
      load({ DEDUPE_WINDOW_HOURS: '170', UNMATCHED_EVENTS_RETENTION_DAYS: '7' })()
        .unmatchedEventsRetentionDays,
    ).toBe(8);
  });
});

describe('MeteringConfig: the operator listener', () => {
  it('is off unless OPERATOR_HTTP_PORT is set, and binds 127.0.0.1 by default', () => {
    expect(load({})().OPERATOR_HTTP_PORT).toBeUndefined();
    const config = load({ OPERATOR_HTTP_PORT: '3012' })();
    expect(config.OPERATOR_HTTP_PORT).toBe(3012);
    expect(config.OPERATOR_HTTP_HOST).toBe('127.0.0.1');
  });

  it('takes a port of its own: never the public port or the admin listener', () => {
    for (const env of [
      { OPERATOR_HTTP_PORT: '3002' } as Record<string, string>,
      { OPERATOR_HTTP_PORT: '4002' },
      { HTTP_PORT: '5000', OPERATOR_HTTP_PORT: '6000' },
      { ADMIN_HTTP_PORT: '7000', OPERATOR_HTTP_PORT: '7000' },
    ]) {
      expect(load(env)).toThrow(ConfigError);
      expect(load(env)).toThrow(/OPERATOR_HTTP_PORT must differ/);
    }
    for (const value of ['0', '65536', 'x'])
      expect(load({ OPERATOR_HTTP_PORT: value })).toThrow(/OPERATOR_HTTP_PORT/);
  });
});
