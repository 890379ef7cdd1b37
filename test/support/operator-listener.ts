import { ADMIN_TOKEN } from './stack';

// Problem bodies are checked with matchers.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** The admin token's header, which the public port must not honour for the operator API. */
export const ADMIN_HEADERS = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** A problem answer of `status`, with its request id: its body. */
export async function problemOf(response: Response, status: number): Promise<Json> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.headers.get('x-request-id')).toBeTruthy();
  return response.json();
}

/**
 * Each request, sent to the public port with the admin token, gets the 404 problem of a path
 * the port does not have (that of `/no-such-path`): the operator API is hidden there however
 * it is reached. A request with a body sends it as JSON.
 */
export async function expectHiddenOnPublic(
  publicUrl: string,
  requests: { method: string; path: string; body?: string }[],
): Promise<void> {
  const unknown = await problemOf(await fetch(`${publicUrl}/no-such-path`), 404);
  for (const { method, path, body } of requests) {
    const answer = await problemOf(
      await fetch(`${publicUrl}${path}`, {
        method,
        headers: { ...ADMIN_HEADERS, 'content-type': 'application/json' },
        body,
      }),
      404,
    );
    expect({ path, type: answer.type, code: answer.code }).toEqual({
      path,
      type: unknown.type,
      code: unknown.code,
    });
  }
}
