import type { ProblemDetailVariant } from '@paygate/problem-details';

/** Why a target is refused: the problem's detail variant, in the caller's language. */
export type TargetRefusal = Extract<
  ProblemDetailVariant,
  | 'path-not-absolute'
  | 'path-backslash'
  | 'path-malformed-escape'
  | 'path-encoded-slash'
  | 'path-dot-parameters'
  | 'target-other-host'
>;

export type NormalizedTarget =
  { ok: true; path: string; query: string } | { ok: false; refusal: TargetRefusal };

/** Anything that may need normalizing: a percent sign, a backslash, `//`, `/.` or `/..`. */
const NEEDS_WORK = /[%\\]|\/\/|\/\.\.?(?:[/;]|$)/;

const UNRESERVED = /[A-Za-z0-9\-._~]/;

const ABSOLUTE_FORM = /^https?:\/\/([^/?#]*)/i;

/**
 * A request target in absolute form (`GET http://api.example.com/x HTTP/1.1`, which RFC 9112
 * §3.2.2 says a server must accept) as the origin form it routes and forwards (`/x`). Only
 * when its authority is the Host header's: a route chosen by one name and a caller or
 * upstream reading the other would disagree on where the request went. Other targets as they
 * are.
 */
export function originForm(
  url: string,
  host: string | undefined,
): { ok: true; url: string } | { ok: false; refusal: TargetRefusal } {
  const absolute = ABSOLUTE_FORM.exec(url);
  if (!absolute) return { ok: true, url };
  if (host === undefined || absolute[1].toLowerCase() !== host.toLowerCase())
    return { ok: false, refusal: 'target-other-host' };
  const rest = url.slice(absolute[0].length);
  return { ok: true, url: rest.startsWith('/') ? rest : `/${rest}` };
}

/**
 * What a request routes and forwards as: its target in origin form, normalized. An origin-form
 * target (`/…`, nearly every request) goes straight to normalizing, with no object made for
 * the absolute form's check.
 */
export function routedTarget(url: string, host: string | undefined): NormalizedTarget {
  if (url.charCodeAt(0) === 0x2f /* "/" */) return normalizeRequestTarget(url);
  const origin = originForm(url, host);
  return origin.ok ? normalizeRequestTarget(origin.url) : origin;
}

/**
 * The request target as the gateway routes and forwards it, normalized per RFC 3986 §6.2.2:
 * percent-encoded unreserved characters decoded (`%2e` is a dot, `%41` an A), the other
 * escapes' hex upper-cased, dot segments removed (§5.2.4) and empty segments (`//`) dropped.
 * What cannot be normalized without changing its meaning for some upstream is refused:
 * encoded slashes and backslashes (`%2f`, `%5c`), raw backslashes, `..;`-style segments,
 * malformed escapes and a target that is not an absolute path. The route is matched on the
 * result, and the upstream receives exactly that path, so it never sees one that would have
 * matched a different route.
 */
export function normalizeRequestTarget(url: string): NormalizedTarget {
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q);
  if (!rawPath.startsWith('/')) return { ok: false, refusal: 'path-not-absolute' };
  if (!NEEDS_WORK.test(rawPath)) return { ok: true, path: rawPath, query };
  if (rawPath.includes('\\')) return { ok: false, refusal: 'path-backslash' };
  let decoded = '';
  for (let i = 0; i < rawPath.length; i++) {
    const char = rawPath[i];
    if (char !== '%') {
      decoded += char;
      continue;
    }
    const hex = rawPath.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return { ok: false, refusal: 'path-malformed-escape' };
    const byte = String.fromCharCode(parseInt(hex, 16));
    if (byte === '/' || byte === '\\') return { ok: false, refusal: 'path-encoded-slash' };
    decoded += UNRESERVED.test(byte) ? byte : `%${hex.toUpperCase()}`;
    i += 2;
  }
  const segments = decoded.split('/').slice(1);
  const out: string[] = [];
  for (const segment of segments) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      out.pop();
      continue;
    }
    // Some servers read `..;x` as `..` (a path parameter after a dot segment).
    if (/^\.\.?;/.test(segment)) return { ok: false, refusal: 'path-dot-parameters' };
    out.push(segment);
  }
  const last = segments[segments.length - 1];
  const trailing = out.length > 0 && (last === '' || last === '.' || last === '..');
  return { ok: true, path: `/${out.join('/')}${trailing ? '/' : ''}`, query };
}
