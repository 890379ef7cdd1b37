import 'reflect-metadata';
import { ConfigError, loadConfig } from '@paygate/config';
import { GatewayConfig } from './gateway.config';

describe('GatewayConfig: ENTITLEMENT_GRPC_TOKEN', () => {
  const load = (ENTITLEMENT_GRPC_TOKEN?: string) => () =>
    loadConfig(GatewayConfig, { KAFKA_BROKERS: '127.0.0.1:9092', ENTITLEMENT_GRPC_TOKEN });

  it('is unset unless set (calls then carry no token), and taken at 32 characters', () => {
    expect(load()().ENTITLEMENT_GRPC_TOKEN).toBeUndefined();
    expect(load('')().ENTITLEMENT_GRPC_TOKEN).toBeUndefined();
    const token = `gw-${'x'.repeat(29)}`;
    expect(load(token)().ENTITLEMENT_GRPC_TOKEN).toBe(token);
  });

  it.each([
    ['shorter than 32 characters', 'y'.repeat(31), /longer than or equal to 32/],
    [
      'with a comma (GRPC_TOKENS could not list it)',
      `${'z'.repeat(20)},${'z'.repeat(20)}`,
      /ASCII/,
    ],
    ['with a space inside', `${'w'.repeat(20)} ${'w'.repeat(20)}`, /ASCII/],
  ])('refuses one %s, naming the variable and not the token', (_, token, reason) => {
    expect(load(token)).toThrow(ConfigError);
    expect(load(token)).toThrow(reason);
    expect(load(token)).toThrow(/ENTITLEMENT_GRPC_TOKEN/);
    expect(load(token)).not.toThrow(token);
  });
});

describe('GatewayConfig: TLS to the entitlement service', () => {
  const load = (env: Record<string, string | undefined>) => () =>
    loadConfig(GatewayConfig, { KAFKA_BROKERS: '127.0.0.1:9092', ...env });

  it('is plaintext unless ENTITLEMENT_GRPC_TLS or a file is set', () => {
    expect(load({})().entitlementGrpcTls).toBe(false);
    expect(load({ ENTITLEMENT_GRPC_TLS: 'false' })().entitlementGrpcTls).toBe(false);
    expect(load({ ENTITLEMENT_GRPC_TLS: 'true' })().entitlementGrpcTls).toBe(true);
    expect(load({ ENTITLEMENT_GRPC_TLS: '1' })().entitlementGrpcTls).toBe(true);
    expect(load({ ENTITLEMENT_GRPC_CA_FILE: '/tls/ca.pem' })().entitlementGrpcTls).toBe(true);
    const mutual = load({
      ENTITLEMENT_GRPC_CERT_FILE: '/tls/client.pem',
      ENTITLEMENT_GRPC_KEY_FILE: '/tls/client.key',
    })();
    expect(mutual.entitlementGrpcTls).toBe(true);
    expect(mutual.entitlementGrpcTlsSettings).toEqual({
      tls: false,
      ca: { variable: 'ENTITLEMENT_GRPC_CA_FILE', path: undefined },
      cert: { variable: 'ENTITLEMENT_GRPC_CERT_FILE', path: '/tls/client.pem' },
      key: { variable: 'ENTITLEMENT_GRPC_KEY_FILE', path: '/tls/client.key' },
    });
  });

  it.each([
    [
      { ENTITLEMENT_GRPC_CERT_FILE: '/tls/client.pem' },
      /ENTITLEMENT_GRPC_KEY_FILE: required with ENTITLEMENT_GRPC_CERT_FILE/,
    ],
    [
      { ENTITLEMENT_GRPC_KEY_FILE: '/tls/client.key' },
      /ENTITLEMENT_GRPC_CERT_FILE: required with ENTITLEMENT_GRPC_KEY_FILE/,
    ],
    [
      { ENTITLEMENT_GRPC_SERVER_NAME: 'entitlement.internal' },
      /ENTITLEMENT_GRPC_SERVER_NAME: .*needs ENTITLEMENT_GRPC_TLS/,
    ],
    [
      { ENTITLEMENT_GRPC_TLS: 'false', ENTITLEMENT_GRPC_SERVER_NAME: 'entitlement.internal' },
      /ENTITLEMENT_GRPC_SERVER_NAME: .*needs ENTITLEMENT_GRPC_TLS/,
    ],
  ])('refuses half a pair, or a server name without TLS (%j)', (env, message) => {
    expect(load(env)).toThrow(ConfigError);
    expect(load(env)).toThrow(message);
  });

  it('takes a server name with TLS, by flag or by CA file', () => {
    for (const tls of [{ ENTITLEMENT_GRPC_TLS: 'true' }, { ENTITLEMENT_GRPC_CA_FILE: '/ca.pem' }])
      expect(
        load({ ...tls, ENTITLEMENT_GRPC_SERVER_NAME: 'entitlement.internal' })()
          .ENTITLEMENT_GRPC_SERVER_NAME,
      ).toBe('entitlement.internal');
  });
});

describe('GatewayConfig: boolean variables', () => {
  it.each(['PAYMENT_TEST_METHOD', 'ENTITLEMENT_GRPC_TLS'] as const)(
    '%s is true for true/1/yes and false for false/0/no, any case; any other value is refused',
    (name) => {
      const load = (value?: string) => () =>
        loadConfig(GatewayConfig, { KAFKA_BROKERS: '127.0.0.1:9092', [name]: value })[name];
      expect(load()()).toBe(false);
      for (const value of ['true', '1', 'yes', 'TRUE', ' Yes ']) expect(load(value)()).toBe(true);
      for (const value of ['false', '0', 'no', 'FALSE', 'No']) expect(load(value)()).toBe(false);
      // A typo never quietly means false (plaintext, for ENTITLEMENT_GRPC_TLS).
      for (const value of ['ture', 'on', '2']) expect(load(value)).toThrow(new RegExp(name));
    },
  );
});
