import type { FastifyRequest } from 'fastify';
import { BearerTokens, bearerToken } from './admin-token.guard';

const request = (authorization?: string) => ({ headers: { authorization } }) as FastifyRequest;

describe('bearer tokens', () => {
  const tokens = new BearerTokens(['operator-token-0123456789'], 'paygate-admin');

  it.each(['Bearer', 'bearer', 'BEARER', 'bEaReR'])(
    'takes the scheme "%s" (RFC 9110 §11.1: case-insensitive)',
    (scheme) => {
      expect(() => tokens.check(request(`${scheme} operator-token-0123456789`), 'x')).not.toThrow();
    },
  );

  it('takes more than one space and trailing whitespace around the token', () => {
    expect(bearerToken('Bearer   abc ')).toBe('abc');
    expect(bearerToken('bearer\tabc')).toBe('abc');
  });

  it.each([
    undefined,
    '',
    'Bearer',
    'Bearer ',
    'Basic b3BlcmF0b3ItdG9rZW4tMDEyMzQ1Njc4OQ==',
    'Bearertoken',
    'Bearer operator-token-0123456789 extra',
    'Bearer operator-token-012345678',
  ])('refuses %p with a 401 problem', (header) => {
    expect(() => tokens.check(request(header), 'admin token')).toThrow(
      expect.objectContaining({
        problem: expect.objectContaining({
          code: 'unauthenticated',
          headers: { 'www-authenticate': 'Bearer realm="paygate-admin"' },
        }),
      }),
    );
  });

  it('accepts any of several tokens (a rotation), and nothing else', () => {
    const rotating = new BearerTokens(['old-token-0123456789', 'new-token-0123456789'], 'x');
    expect(rotating.accepts('Bearer old-token-0123456789')).toBe(true);
    expect(rotating.accepts('Bearer new-token-0123456789')).toBe(true);
    expect(rotating.accepts('Bearer other-token-012345678')).toBe(false);
    expect(rotating.accepts(['Bearer new-token-0123456789'])).toBe(false);
    expect(rotating.accepts(undefined)).toBe(false);
    expect(new BearerTokens([], 'x').accepts('Bearer ')).toBe(false);
  });
});
