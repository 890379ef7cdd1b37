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
});
