import {
  RouteTableError,
  checkPayableRoutes,
  matchRoute,
  parseRouteTable,
  upstreamTarget,
} from './route-table';

const table = JSON.stringify({
  routes: [
    {
      name: 'api',
      pathPrefix: '/api',
      upstream: 'http://127.0.0.1:4000',
      feature: 'requests',
      cost: 1,
    },
    {
      name: 'search',
      pathPrefix: '/api/search',
      upstream: 'http://127.0.0.1:4001/v2',
      stripPrefix: true,
      feature: 'search',
      cost: 5,
    },
  ],
});

describe('route table', () => {
  const routes = parseRouteTable(table, 'test');

  const name = (path: string, host?: string, method?: string) =>
    matchRoute(routes, { path, host, method }).route?.name;

  it('picks the longest matching prefix on segment boundaries', () => {
    expect(name('/api/search/x')).toBe('search');
    expect(name('/api/searching')).toBe('api');
    expect(name('/api')).toBe('api');
    expect(name('/apix')).toBeUndefined();
  });

  it('matches hosts (port ignored, wildcards for subdomains) and methods, 405 with the allowed ones', () => {
    const yaml = `
routes:
  - name: eu
    pathPrefix: /v1
    hosts: ["*.eu.example.com"]
    upstream: http://eu:4000
    feature: requests
    cost: 1
  - name: any
    pathPrefix: /v1
    upstream: http://any:4000
    feature: requests
    cost: 1
  - name: writes
    pathPrefix: /v1/orders
    methods: [POST, PUT]
    upstream: http://orders:4000
    feature: orders
    cost: 2
`;
    const table = parseRouteTable(yaml, 'routes.yaml');
    const match = (path: string, host?: string, method?: string) =>
      matchRoute(table, { path, host, method });
    expect(match('/v1/x', 'api.eu.example.com:8443').route?.name).toBe('eu');
    expect(match('/v1/x', 'API.EU.EXAMPLE.COM').route?.name).toBe('eu');
    expect(match('/v1/x', 'eu.example.com').route?.name).toBe('any');
    expect(match('/v1/orders', 'h', 'POST').route?.name).toBe('writes');
    // A GET falls back to the shorter prefix that takes any method.
    expect(match('/v1/orders', 'h', 'GET').route?.name).toBe('any');
    expect(matchRoute(table.slice(2), { path: '/v1/orders', method: 'DELETE' })).toEqual({
      route: undefined,
      allowedMethods: ['POST', 'PUT'],
    });
    expect(() => parseRouteTable('routes: [', 'bad.yml')).toThrow(/not valid YAML/);
  });

  it('targets the upstream origin and path, stripping the prefix when asked, keeping the query', () => {
    const [api, search] = routes;
    const target = (origin: string, path: string) => ({ origin, path });
    expect(upstreamTarget(api, '/api/a?b=1')).toEqual(
      target('http://127.0.0.1:4000', '/api/a?b=1'),
    );
    expect(upstreamTarget(search, '/api/search/q?x=1')).toEqual(
      target('http://127.0.0.1:4001', '/v2/q?x=1'),
    );
    expect(upstreamTarget(search, '/api/search?x=1')).toEqual(
      target('http://127.0.0.1:4001', '/v2/?x=1'),
    );
  });

  it('refuses invalid tables with the failing fields named', () => {
    const bad = JSON.stringify({
      routes: [{ name: 'x', pathPrefix: 'nope', upstream: 'ftp://x', feature: 'f', cost: -1 }],
    });
    expect(() => parseRouteTable(bad, 'bad.json')).toThrow(RouteTableError);
    expect(() => parseRouteTable(bad, 'bad.json')).toThrow(
      /routes\.0\.pathPrefix[\s\S]*routes\.0\.upstream[\s\S]*routes\.0\.cost/,
    );
    expect(() => parseRouteTable('{', 'broken.json')).toThrow(/not valid JSON/);
  });

  it('takes usageEvents aggregated or per-request, and refuses anything else', () => {
    const withUsage = (usageEvents: unknown) =>
      JSON.stringify({
        routes: [
          {
            name: 'a',
            pathPrefix: '/a',
            upstream: 'http://127.0.0.1:4000',
            feature: 'f',
            cost: 1,
            usageEvents,
          },
        ],
      });
    expect(parseRouteTable(withUsage('per-request'), 'u')[0].usageEvents).toBe('per-request');
    expect(parseRouteTable(withUsage('aggregated'), 'u')[0].usageEvents).toBe('aggregated');
    expect(() => parseRouteTable(withUsage('sometimes'), 'u')).toThrow(/usageEvents/);
  });

  it('refuses duplicate route names', () => {
    const dup = JSON.stringify({
      routes: [
        { name: 'a', pathPrefix: '/a', upstream: 'http://h', feature: 'f', cost: 1 },
        { name: 'a', pathPrefix: '/b', upstream: 'http://h', feature: 'f', cost: 1 },
      ],
    });
    expect(() => parseRouteTable(dup, 'dup.json')).toThrow(/used twice/);
  });

  describe('prices', () => {
    const priced = (price: unknown) =>
      JSON.stringify({
        routes: [
          {
            name: 'paid',
            pathPrefix: '/paid',
            upstream: 'http://127.0.0.1:4000',
            feature: 'requests',
            cost: 1,
            price,
          },
        ],
      });
    const usdc = {
      network: 'eip155:84532',
      asset: '0x036CbD53842c5426634e7929541eC2318f3dCF7e',
      payTo: '0x209693Bc6afc0C5328bA36FaF03C514EF312287C',
      amountPerUnit: '1000',
    };

    it('takes assets with exact amounts (past 2^53) and names every bad field', () => {
      const [route] = parseRouteTable(
        priced({ assets: [{ ...usdc, amountPerCall: '123456789012345678901234567890' }] }),
        'p',
      );
      expect(route.price?.assets[0].amountPerCall).toBe('123456789012345678901234567890');
      const bad = () =>
        parseRouteTable(
          priced({
            assets: [{ ...usdc, network: 'base', amountPerUnit: '1.5', payTo: '' }],
          }),
          'p',
        );
      expect(bad).toThrow(RouteTableError);
      expect(bad).toThrow(/network[\s\S]*payTo[\s\S]*amountPerUnit|amountPerUnit/);
      expect(() => parseRouteTable(priced({ assets: [] }), 'p')).toThrow(/assets/);
      expect(() =>
        parseRouteTable(priced({ assets: [{ ...usdc, amountPerUnit: -1 }] }), 'p'),
      ).toThrow(/amountPerUnit/);
      // A credit for nothing (even with a fee per call) would hand out credits for free.
      expect(() =>
        parseRouteTable(priced({ assets: [{ ...usdc, amountPerUnit: '0' }] }), 'p'),
      ).toThrow(/amountPerUnit must be a whole number of the smallest unit, at least 1/);
    });

    it('refuses a cost, a maximum or a body size past 2^53 − 1 when the table loads', () => {
      // Written as text: a number past 2^53 − 1 must reach the parser as it was written.
      const table = (fields: string) =>
        `{"routes":[{"name":"big","pathPrefix":"/big","upstream":"http://127.0.0.1:4000",` +
        `"feature":"requests",${fields}}]}`;
      expect(() => parseRouteTable(table('"cost":9007199254740993'), 'p')).toThrow(/cost/);
      expect(() =>
        parseRouteTable(
          table('"cost":1,"costFrom":{"header":"x-units","max":1152921504606846976}'),
          'p',
        ),
      ).toThrow(/max/);
      expect(() =>
        parseRouteTable(
          table('"cost":1,"costFrom":{"perBodyBytes":9007199254740992,"max":10}'),
          'p',
        ),
      ).toThrow(/perBodyBytes/);
      expect(parseRouteTable(table('"cost":9007199254740991'), 'p')).toHaveLength(1);
    });

    it('refuses a priced route nobody could pay: no secret, test method off, no facilitator', () => {
      const routes = parseRouteTable(
        priced({ assets: [usdc, { ...usdc, network: 'paygate:test' }] }),
        'p',
      );
      const check = (settings: Partial<Parameters<typeof checkPayableRoutes>[1]>) => () =>
        checkPayableRoutes(
          routes,
          { testMethod: false, facilitatorNetworks: [], ...settings },
          'p',
        );
      expect(check({})).toThrow(
        /PAYMENT_CHALLENGE_SECRET[\s\S]*eip155:84532[\s\S]*PAYMENT_TEST_METHOD/,
      );
      expect(
        check({
          challengeSecret: 'x'.repeat(32),
          testMethod: true,
          facilitatorNetworks: ['eip155:84532'],
        }),
      ).not.toThrow();
    });

    it('takes an anonymous plan by key, and refuses a bad key or a free anonymous route', () => {
      const [route] = parseRouteTable(priced({ assets: [usdc], anonymousPlan: 'per-call' }), 'p');
      expect(route.price?.anonymousPlan).toBe('per-call');
      expect(() =>
        parseRouteTable(priced({ assets: [usdc], anonymousPlan: 'Per Call!' }), 'p'),
      ).toThrow(/anonymousPlan/);
      const free = { ...route, cost: 0 };
      const payable = { challengeSecret: 'x'.repeat(32), testMethod: false };
      expect(() =>
        checkPayableRoutes([free], { ...payable, facilitatorNetworks: [usdc.network] }, 'p'),
      ).toThrow(/anonymousPlan needs a cost of at least 1/);
      expect(() =>
        checkPayableRoutes(
          [{ ...route, scopes: ['admin'] }],
          { ...payable, facilitatorNetworks: [usdc.network] },
          'p',
        ),
      ).toThrow(/anonymousPlan cannot go with scopes/);
    });

    it('takes upto authorizations within bounds whose hold fits in the offer lifetime', () => {
      const [route] = parseRouteTable(
        priced({ assets: [usdc], upto: { units: 100, holdSeconds: 120 } }),
        'p',
      );
      expect(route.price?.upto).toEqual({ units: 100, holdSeconds: 120 });
      for (const upto of [{ units: 0 }, { units: 1_000_001 }, { units: 5, holdSeconds: 4 }]) {
        expect(() => parseRouteTable(priced({ assets: [usdc], upto }), 'p')).toThrow(/upto/);
      }
      const settings = {
        challengeSecret: 'x'.repeat(32),
        testMethod: false,
        facilitatorNetworks: [usdc.network],
      };
      expect(() =>
        checkPayableRoutes([route], { ...settings, challengeTtlSeconds: 149 }, 'p'),
      ).toThrow(/upto.holdSeconds 120 needs PAYMENT_CHALLENGE_TTL_SECONDS of at least 150/);
      expect(() =>
        checkPayableRoutes([route], { ...settings, challengeTtlSeconds: 150 }, 'p'),
      ).not.toThrow();
    });
  });
});
