import { RouteTableError, matchRoute, parseRouteTable, upstreamUrl } from './route-table';

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

  it('picks the longest matching prefix on segment boundaries', () => {
    expect(matchRoute(routes, '/api/search/x')?.name).toBe('search');
    expect(matchRoute(routes, '/api/searching')?.name).toBe('api');
    expect(matchRoute(routes, '/api')?.name).toBe('api');
    expect(matchRoute(routes, '/apix')).toBeUndefined();
  });

  it('builds upstream URLs, stripping the prefix when asked and keeping the query', () => {
    const [api, search] = routes;
    expect(upstreamUrl(api, '/api/a?b=1')).toBe('http://127.0.0.1:4000/api/a?b=1');
    expect(upstreamUrl(search, '/api/search/q?x=1')).toBe('http://127.0.0.1:4001/v2/q?x=1');
    expect(upstreamUrl(search, '/api/search?x=1')).toBe('http://127.0.0.1:4001/v2/?x=1');
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

  it('refuses duplicate route names', () => {
    const dup = JSON.stringify({
      routes: [
        { name: 'a', pathPrefix: '/a', upstream: 'http://h', feature: 'f', cost: 1 },
        { name: 'a', pathPrefix: '/b', upstream: 'http://h', feature: 'f', cost: 1 },
      ],
    });
    expect(() => parseRouteTable(dup, 'dup.json')).toThrow(/used twice/);
  });
});
