import { readFileSync } from 'node:fs';
import {
  BEGIN,
  CONFIGURATION_MD,
  END,
  expectedConfigurationMd,
  readConfigs,
  renderTables,
} from './config-reference';

// Reads the TypeScript source of every app's config with the compiler: a few seconds.
jest.setTimeout(60_000);

describe('docs/configuration.md', () => {
  const configs = readConfigs();

  it('has a table for every app, each variable with a type, a default and a meaning', () => {
    expect(configs.map((c) => c.app).sort()).toEqual(['entitlement', 'gateway', 'metering']);
    for (const c of configs) {
      expect(c.variables.length).toBeGreaterThan(5);
      for (const v of c.variables) {
        expect([v.name, v.type && v.default && v.meaning ? 'ok' : 'missing']).toEqual([
          v.name,
          'ok',
        ]);
      }
    }
  });

  it('reads defaults, bounds and inherited variables from the config classes', () => {
    const byApp = Object.fromEntries(
      configs.map((c) => [c.app, Object.fromEntries(c.variables.map((v) => [v.name, v]))]),
    );
    expect(byApp.gateway.HTTP_PORT).toMatchObject({ type: 'integer 1–65535', default: '`8080`' });
    expect(byApp.gateway.BODY_LIMIT_BYTES.default).toBe('`10485760`');
    expect(byApp.gateway.KAFKA_BROKERS.default).toBe('`127.0.0.1:9092`');
    expect(byApp.metering.DEAD_LETTER_MAX_VALUE_BYTES.default).toBe('`65536`');
    expect(byApp.metering.UNKNOWN_METER_POLICY.type).toBe('one of `skip`, `dead-letter`, `hold`');
    expect(byApp.entitlement.ADMIN_TOKEN.default).toBe('required');
    expect(byApp.entitlement.ALERT_USAGE_PERCENTS.default).toBe('`80,100`');
    expect(byApp.entitlement.LEASE_TTL_SECONDS.default).toBe('`900`');
    expect(byApp.gateway.ADMIN_TOKEN).toBeUndefined();
  });

  it('is up to date: run `npm run build` and `npm run docs:config` after changing a config class', () => {
    const current = readFileSync(CONFIGURATION_MD, 'utf8');
    expect(current).toContain(BEGIN);
    expect(current).toContain(END);
    expect(renderTables(configs).length).toBeGreaterThan(0);
    expect(current).toBe(expectedConfigurationMd(current));
  });
});
