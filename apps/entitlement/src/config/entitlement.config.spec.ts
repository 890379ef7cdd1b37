import 'reflect-metadata';
import { ConfigError, loadConfig } from '@paygate/config';
import { DEV_STRIPE_WEBHOOK_SECRET, EntitlementConfig } from './entitlement.config';

const base = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/paygate',
  KAFKA_BROKERS: '127.0.0.1:9092',
  ADMIN_TOKEN: 'x'.repeat(32),
};

describe('EntitlementConfig: the development webhook secret', () => {
  it('is taken for demos, and refused with real Stripe payments', () => {
    expect(
      loadConfig(EntitlementConfig, {
        ...base,
        BILLING_PAYMENT_PROVIDER: 'demo',
        STRIPE_WEBHOOK_SECRET: DEV_STRIPE_WEBHOOK_SECRET,
      }).STRIPE_WEBHOOK_SECRET,
    ).toBe(DEV_STRIPE_WEBHOOK_SECRET);
    const real = () =>
      loadConfig(EntitlementConfig, {
        ...base,
        BILLING_PAYMENT_PROVIDER: 'stripe',
        STRIPE_SECRET_KEY: 'sk_test_0123456789',
        STRIPE_WEBHOOK_SECRET: DEV_STRIPE_WEBHOOK_SECRET,
      });
    expect(real).toThrow(ConfigError);
    expect(real).toThrow(/STRIPE_WEBHOOK_SECRET: .*public development secret/);
    expect(
      loadConfig(EntitlementConfig, {
        ...base,
        BILLING_PAYMENT_PROVIDER: 'stripe',
        STRIPE_SECRET_KEY: 'sk_test_0123456789',
        STRIPE_WEBHOOK_SECRET: 'whsec_mine',
      }).STRIPE_WEBHOOK_SECRET,
    ).toBe('whsec_mine');
  });
});

describe('EntitlementConfig: PROCESSED_MESSAGES_RETENTION_HOURS', () => {
  it('keeps claims 30 days by default, and refuses less than Kafka keeps a message by default (336 hours)', () => {
    expect(loadConfig(EntitlementConfig, base).PROCESSED_MESSAGES_RETENTION_HOURS).toBe(720);
    expect(
      loadConfig(EntitlementConfig, { ...base, PROCESSED_MESSAGES_RETENTION_HOURS: '400' })
        .PROCESSED_MESSAGES_RETENTION_HOURS,
    ).toBe(400);
    const short = () =>
      loadConfig(EntitlementConfig, { ...base, PROCESSED_MESSAGES_RETENTION_HOURS: '335' });
    expect(short).toThrow(ConfigError);
    expect(short).toThrow(/PROCESSED_MESSAGES_RETENTION_HOURS/);
  });
});

describe('EntitlementConfig: IDEMPOTENCY_KEYS_RETENTION_HOURS', () => {
  const load = (env: Record<string, string>) => () =>
    loadConfig(EntitlementConfig, { ...base, ...env });

  it('keeps keys a week by default, and at least a day (Stripe keeps them 24 hours)', () => {
    expect(loadConfig(EntitlementConfig, base).IDEMPOTENCY_KEYS_RETENTION_HOURS).toBe(168);
    expect(
      load({ IDEMPOTENCY_KEYS_RETENTION_HOURS: '24' })().IDEMPOTENCY_KEYS_RETENTION_HOURS,
    ).toBe(24);
    // 0 would forget every key at once: refused, as is anything under a day or not a count.
    for (const bad of ['0', '23', '-1', '1.5', '1e3']) {
      const loading = load({ IDEMPOTENCY_KEYS_RETENTION_HOURS: bad });
      expect(loading).toThrow(ConfigError);
      expect(loading).toThrow(/IDEMPOTENCY_KEYS_RETENTION_HOURS/);
    }
    expect(load({ IDEMPOTENCY_KEYS_RETENTION_HOURS: '0' })).toThrow(/must not be less than 24/);
  });

  it('outlasts billing links, whose top-up forms are single-use through such a key', () => {
    const retention = (env: Record<string, string>) => load(env)().idempotencyKeysRetentionHours;
    expect(retention({})).toBe(168);
    expect(retention({ IDEMPOTENCY_KEYS_RETENTION_HOURS: '48' })).toBe(48);
    // Links valid for 30 days keep their forms' keys 30 days, whatever the setting says, and a
    // service configured so before the setting existed still starts.
    expect(retention({ BILLING_LINK_TTL_SECONDS: String(30 * 86_400) })).toBe(720);
    expect(
      retention({ BILLING_LINK_TTL_SECONDS: '90000', IDEMPOTENCY_KEYS_RETENTION_HOURS: '24' }),
    ).toBe(25);
  });
});

describe('EntitlementConfig: ALERT_USAGE_PERCENTS', () => {
  it('reads decimal percents from 1 to 100, and refuses any other way of writing a number', () => {
    expect(
      loadConfig(EntitlementConfig, { ...base, ALERT_USAGE_PERCENTS: '50, 80,100' })
        .ALERT_USAGE_PERCENTS,
    ).toEqual([50, 80, 100]);
    for (const bad of ['8e1', '0x50', '80.0', '0', '101', '80,,x'])
      expect(() => loadConfig(EntitlementConfig, { ...base, ALERT_USAGE_PERCENTS: bad })).toThrow(
        /ALERT_USAGE_PERCENTS/,
      );
  });
});

describe('EntitlementConfig: the operator listener', () => {
  const load = (env: Record<string, string>) => () =>
    loadConfig(EntitlementConfig, { ...base, ...env });

  it('is off unless OPERATOR_HTTP_PORT is set, and binds 127.0.0.1 by default', () => {
    expect(load({})().OPERATOR_HTTP_PORT).toBeUndefined();
    const config = load({ OPERATOR_HTTP_PORT: '3011' })();
    expect(config.OPERATOR_HTTP_PORT).toBe(3011);
    expect(config.OPERATOR_HTTP_HOST).toBe('127.0.0.1');
  });

  it('takes a port of its own: never the public port or the admin listener', () => {
    for (const [env, message] of [
      [{ OPERATOR_HTTP_PORT: '3001' }, /OPERATOR_HTTP_PORT must differ/],
      [{ OPERATOR_HTTP_PORT: '4001' }, /OPERATOR_HTTP_PORT must differ/],
      [{ HTTP_PORT: '5000', OPERATOR_HTTP_PORT: '6000' }, /OPERATOR_HTTP_PORT must differ/],
      [{ ADMIN_HTTP_PORT: '7000', OPERATOR_HTTP_PORT: '7000' }, /OPERATOR_HTTP_PORT must differ/],
      [{ OPERATOR_HTTP_PORT: '0' }, /OPERATOR_HTTP_PORT/],
      [{ OPERATOR_HTTP_PORT: '65536' }, /OPERATOR_HTTP_PORT/],
      [{ OPERATOR_HTTP_PORT: 'x' }, /OPERATOR_HTTP_PORT/],
    ] as const) {
      expect(load(env)).toThrow(ConfigError);
      expect(load(env)).toThrow(message);
    }
    expect(load({ ADMIN_HTTP_PORT: '7000', OPERATOR_HTTP_PORT: '4001' })().OPERATOR_HTTP_PORT).toBe(
      4001,
    );
  });
});

describe('EntitlementConfig: GRPC_TOKENS', () => {
  const load = (GRPC_TOKENS: string) => () =>
    loadConfig(EntitlementConfig, { ...base, GRPC_TOKENS });
  const old = `old-${'a'.repeat(28)}`;
  const next = `new-${'b'.repeat(28)}`;

  it('is empty unless set, and takes a comma-separated list (a rotation: old and new)', () => {
    expect(loadConfig(EntitlementConfig, base).GRPC_TOKENS).toEqual([]);
    expect(load(`${old}, ${next}`)().GRPC_TOKENS).toEqual([old, next]);
  });

  it.each([
    ['shorter than 32 characters', `${old},${'c'.repeat(31)}`, /longer than or equal to 32/],
    ['with a space inside', `${'d'.repeat(20)} ${'d'.repeat(20)}`, /visible ASCII/],
    ['beyond ASCII', `${'e'.repeat(32)}é`, /visible ASCII/],
  ])('refuses a token %s, naming the variable and not the token', (_, value, reason) => {
    expect(load(value)).toThrow(ConfigError);
    expect(load(value)).toThrow(reason);
    expect(load(value)).toThrow(/GRPC_TOKENS/);
    for (const token of value.split(',')) expect(load(value)).not.toThrow(token);
  });
});

describe('EntitlementConfig: GRPC_TLS_*', () => {
  const load = (env: Record<string, string>) => () =>
    loadConfig(EntitlementConfig, { ...base, ...env });

  it('is plaintext unless set; the files are named as given (read when the port opens)', () => {
    const plain = load({})();
    expect(plain.grpcTls).toEqual({
      cert: { variable: 'GRPC_TLS_CERT_FILE', path: undefined },
      key: { variable: 'GRPC_TLS_KEY_FILE', path: undefined },
      clientCa: { variable: 'GRPC_TLS_CLIENT_CA_FILE', path: undefined },
    });
    const mutual = load({
      GRPC_TLS_CERT_FILE: '/tls/server.pem',
      GRPC_TLS_KEY_FILE: '/tls/server.key',
      GRPC_TLS_CLIENT_CA_FILE: '/tls/ca.pem',
    })();
    expect(mutual.grpcTls).toEqual({
      cert: { variable: 'GRPC_TLS_CERT_FILE', path: '/tls/server.pem' },
      key: { variable: 'GRPC_TLS_KEY_FILE', path: '/tls/server.key' },
      clientCa: { variable: 'GRPC_TLS_CLIENT_CA_FILE', path: '/tls/ca.pem' },
    });
  });

  it.each([
    [
      { GRPC_TLS_CERT_FILE: '/tls/server.pem' },
      /GRPC_TLS_KEY_FILE: required with GRPC_TLS_CERT_FILE/,
    ],
    [
      { GRPC_TLS_KEY_FILE: '/tls/server.key' },
      /GRPC_TLS_CERT_FILE: required with GRPC_TLS_KEY_FILE/,
    ],
    [
      { GRPC_TLS_CLIENT_CA_FILE: '/tls/ca.pem' },
      /GRPC_TLS_CLIENT_CA_FILE: needs GRPC_TLS_CERT_FILE/,
    ],
    [
      { GRPC_TLS_KEY_FILE: '/tls/server.key', GRPC_TLS_CLIENT_CA_FILE: '/tls/ca.pem' },
      /GRPC_TLS_CERT_FILE: required[\s\S]*GRPC_TLS_CLIENT_CA_FILE: needs GRPC_TLS_CERT_FILE/,
    ],
  ])('refuses half a pair, or a client CA without TLS (%j)', (env, message) => {
    expect(load(env)).toThrow(ConfigError);
    expect(load(env)).toThrow(message);
  });
});
