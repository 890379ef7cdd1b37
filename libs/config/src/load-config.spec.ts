import 'reflect-metadata';
import { IsInt, Min } from 'class-validator';
import { ConfigError, loadConfig } from './load-config';
import { DatabaseServiceConfig } from './service-config';

class AppConfig extends DatabaseServiceConfig {
  @IsInt()
  @Min(1)
  HTTP_PORT: number = 3000;
}

describe('loadConfig', () => {
  it('converts environment strings and keeps defaults, through the base classes', () => {
    const config = loadConfig(AppConfig, {
      ADMIN_TOKEN: 'x'.repeat(16),
      HTTP_PORT: '8081',
      KAFKA_BROKERS: 'a:1, b:2',
    });
    expect(config.HTTP_PORT).toBe(8081);
    expect(config.KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
    expect(config.HTTP_HOST).toBe('127.0.0.1');
    expect(config.DATABASE_URL).toMatch(/^postgres:/);
  });

  it('names every invalid variable', () => {
    expect(() => loadConfig(AppConfig, { HTTP_PORT: 'eighty', LOG_LEVEL: 'loud' })).toThrow(
      ConfigError,
    );
    expect(() => loadConfig(AppConfig, { HTTP_PORT: 'eighty', LOG_LEVEL: 'loud' })).toThrow(
      /ADMIN_TOKEN[\s\S]*HTTP_PORT|HTTP_PORT[\s\S]*ADMIN_TOKEN/,
    );
    expect(() => loadConfig(AppConfig, { ADMIN_TOKEN: 'x'.repeat(16), LOG_LEVEL: 'loud' })).toThrow(
      /LOG_LEVEL/,
    );
  });

  it('sizes the database pool: 10 by default, 1 to 1,000', () => {
    const admin = { ADMIN_TOKEN: 'x'.repeat(16) };
    expect(loadConfig(AppConfig, admin).DATABASE_POOL_SIZE).toBe(10);
    expect(loadConfig(AppConfig, { ...admin, DATABASE_POOL_SIZE: '40' }).DATABASE_POOL_SIZE).toBe(
      40,
    );
    for (const bad of ['0', '1001', '2.5', 'ten', '1e2', '0x10', ' 40'])
      expect(() => loadConfig(AppConfig, { ...admin, DATABASE_POOL_SIZE: bad })).toThrow(
        /DATABASE_POOL_SIZE/,
      );
  });

  it('bounds each statement: 30 s by default, 100 ms to an hour', () => {
    const admin = { ADMIN_TOKEN: 'x'.repeat(16) };
    expect(loadConfig(AppConfig, admin).DATABASE_QUERY_TIMEOUT_MS).toBe(30_000);
    expect(
      loadConfig(AppConfig, { ...admin, DATABASE_QUERY_TIMEOUT_MS: '5000' })
        .DATABASE_QUERY_TIMEOUT_MS,
    ).toBe(5_000);
    for (const bad of ['0', '99', '3600001', '-1', '1.5', 'never'])
      expect(() => loadConfig(AppConfig, { ...admin, DATABASE_QUERY_TIMEOUT_MS: bad })).toThrow(
        /DATABASE_QUERY_TIMEOUT_MS/,
      );
  });

  it('puts KAFKA_PREFIX before every topic and group name, and refuses names Kafka would not take', () => {
    const plain = loadConfig(AppConfig, { ADMIN_TOKEN: 'x'.repeat(16) });
    expect(plain.topics.usage).toBe('paygate.usage.v1');
    expect(plain.kafkaName('paygate-metering')).toBe('paygate-metering');

    const staging = loadConfig(AppConfig, {
      ADMIN_TOKEN: 'x'.repeat(16),
      KAFKA_PREFIX: 'staging.',
    });
    expect(staging.topics).toEqual({
      usage: 'staging.paygate.usage.v1',
      usageDeadLetter: 'staging.paygate.usage.v1.dlq',
      usageRecorded: 'staging.paygate.usage-recorded.v1',
      entitlementChanged: 'staging.paygate.entitlement-changed.v1',
    });
    expect(staging.kafkaName('paygate-metering')).toBe('staging.paygate-metering');

    for (const bad of ['a b', 'a/b', 'x'.repeat(65), 'ü.']) {
      expect(() =>
        loadConfig(AppConfig, { ADMIN_TOKEN: 'x'.repeat(16), KAFKA_PREFIX: bad }),
      ).toThrow(/KAFKA_PREFIX/);
    }
  });
});
