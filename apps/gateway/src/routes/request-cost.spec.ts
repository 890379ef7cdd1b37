import type { RouteDefinition } from './route';
import { requestCost } from './request-cost';

const route = (costFrom?: RouteDefinition['costFrom']): RouteDefinition => ({
  name: 'r',
  pathPrefix: '/r',
  upstream: 'http://u',
  feature: 'f',
  cost: 1,
  costFrom,
});

describe('requestCost', () => {
  it('is the fixed cost without a rule', () => {
    expect(requestCost(route(), {})).toEqual({ ok: true, cost: 1 });
  });

  it('reads a header within [cost, max], defaulting to cost', () => {
    const r = route({ header: 'X-Units', max: 50 });
    expect(requestCost(r, { 'x-units': '7' })).toEqual({ ok: true, cost: 7 });
    expect(requestCost(r, {})).toEqual({ ok: true, cost: 1 });
    // Decimal digits only: not 100 for 1e2, 16 for 0x10, 0 for empty, 7 for ' 7'.
    for (const bad of ['0', '51', '2.5', 'many', '1e1', '0x10', '', ' 7', '+7', '-1']) {
      expect(requestCost(r, { 'x-units': bad })).toMatchObject({ ok: false, field: 'X-Units' });
    }
  });

  it('charges one unit per started block of body bytes, up to max', () => {
    const r = route({ perBodyBytes: 1024, max: 10 });
    expect(requestCost(r, { 'content-length': '0' })).toEqual({ ok: true, cost: 1 });
    expect(requestCost(r, { 'content-length': '2049' })).toEqual({ ok: true, cost: 3 });
    expect(requestCost(r, { 'content-length': '20000' })).toMatchObject({ ok: false });
    expect(requestCost(r, {})).toMatchObject({ ok: false, field: 'content-length' });
  });
});
