import { normalizeRequestTarget, originForm, routedTarget } from './request-path';

describe('normalizeRequestTarget', () => {
  const path = (url: string) => {
    const target = normalizeRequestTarget(url);
    return target.ok ? target.path + target.query : `refused: ${target.refusal}`;
  };

  it.each([
    ['/demo/hello', '/demo/hello'],
    ['/demo/hello?x=/../y', '/demo/hello?x=/../y'],
    ['/demo/../admin', '/admin'],
    ['/demo/./a/../b/', '/demo/b/'],
    ['/demo/%2e%2e/admin', '/admin'],
    ['/demo/%2E%2e/admin', '/admin'],
    ['/demo/.%2e/admin', '/admin'],
    ['/demo/%2e/x', '/demo/x'],
    ['/../../etc', '/etc'],
    ['/demo//x///y', '/demo/x/y'],
    ['//demo/x', '/demo/x'],
    ['/demo/..', '/'],
    ['/demo/x/..', '/demo/'],
    ['/demo/%61dmin', '/demo/admin'],
    ['/demo/%7e', '/demo/~'],
    ['/demo/%e2%82%ac', '/demo/%E2%82%AC'],
    ['/demo/a%20b?q=%zz', '/demo/a%20b?q=%zz'],
    ['/demo/...', '/demo/...'],
    ['/demo/.hidden', '/demo/.hidden'],
  ])('%s → %s', (url, expected) => {
    expect(path(url)).toBe(expected);
  });

  it.each([
    ['/demo/%2fadmin', 'path-encoded-slash'],
    ['/demo/%2Fadmin', 'path-encoded-slash'],
    ['/demo/%5cadmin', 'path-encoded-slash'],
    ['/demo/a\\b', 'path-backslash'],
    ['/demo/..;/admin', 'path-dot-parameters'],
    ['/demo/.;x/admin', 'path-dot-parameters'],
    ['/demo/%zz', 'path-malformed-escape'],
    ['/demo/%4', 'path-malformed-escape'],
    ['http://host/demo/../admin', 'path-not-absolute'],
    ['*', 'path-not-absolute'],
  ])('refuses %s (%s)', (url, refusal) => {
    expect(path(url)).toBe(`refused: ${refusal}`);
  });

  it('leaves an ordinary path untouched (the same string)', () => {
    const url = '/demo/a/b.json?x=1';
    const target = normalizeRequestTarget(url);
    expect(target).toEqual({ ok: true, path: '/demo/a/b.json', query: '?x=1' });
  });
});

describe('originForm', () => {
  it.each([
    ['http://api.example.com/v1/x?q=1', 'api.example.com', '/v1/x?q=1'],
    ['HTTPS://API.example.com/v1/x', 'api.EXAMPLE.com', '/v1/x'],
    ['http://api.example.com:8080', 'api.example.com:8080', '/'],
    ['http://api.example.com?q=1', 'api.example.com', '/?q=1'],
    // Origin form (and anything else) is left to normalizeRequestTarget.
    ['/v1/x', 'api.example.com', '/v1/x'],
    ['*', undefined, '*'],
  ])('reads %s (Host %s) as %s', (url, host, expected) => {
    expect(originForm(url, host)).toEqual({ ok: true, url: expected });
  });

  it.each([
    ['http://other.example.com/v1/x', 'api.example.com'],
    ['http://api.example.com:8080/v1/x', 'api.example.com'],
    ['http://api.example.com/v1/x', undefined],
    ['http://@api.example.com/v1/x', 'api.example.com'],
  ])('refuses %s with Host %s: the target names another host', (url, host) => {
    expect(originForm(url, host)).toEqual({ ok: false, refusal: 'target-other-host' });
  });
});

describe('routedTarget', () => {
  it('normalizes an origin-form target as it is, and an absolute one naming the Host', () => {
    expect(routedTarget('/v1//x/./y?q=1', 'api.example.com')).toEqual({
      ok: true,
      path: '/v1/x/y',
      query: '?q=1',
    });
    expect(routedTarget('http://api.example.com/v1/%2e/x', 'api.example.com')).toEqual({
      ok: true,
      path: '/v1/x',
      query: '',
    });
  });

  it.each(['//other.example.com/v1/x', '/http://other.example.com/x', '', '*', 'x/y'])(
    'reads %s as originForm then normalizeRequestTarget would',
    (url) => {
      const origin = originForm(url, 'api.example.com');
      expect(routedTarget(url, 'api.example.com')).toEqual(
        origin.ok ? normalizeRequestTarget(origin.url) : origin,
      );
    },
  );

  it('refuses another host, and a target that is neither form', () => {
    expect(routedTarget('http://other.example.com/v1', 'api.example.com')).toEqual({
      ok: false,
      refusal: 'target-other-host',
    });
    expect(routedTarget('*', 'api.example.com')).toEqual({
      ok: false,
      refusal: 'path-not-absolute',
    });
  });
});
