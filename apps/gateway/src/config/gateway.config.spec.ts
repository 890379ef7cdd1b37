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
