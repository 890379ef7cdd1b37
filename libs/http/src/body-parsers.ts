import { repeatedMember } from '@paygate/contracts';
import { FieldProblem, ProblemException } from '@paygate/problem-details';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parse as parseQueryString } from 'node:querystring';
import { INPUT_LIMITS } from './input-limits';

/** At most this many failing fields are listed; one is enough to correct the request. */
const MAX_LISTED = 20;

const fieldPath = (parent: string, key: string | number) =>
  parent ? `${parent}.${key}` : String(key);

/**
 * Whether a string is whole Unicode: no lone surrogate (JSON's `"\ud800"`), which Postgres
 * stores as U+FFFD in text (the answer then differs from what was stored) and refuses in jsonb
 * (an idempotency record, a grouped value: a 500 after the change was committed). Node 20 has
 * String.prototype.isWellFormed (ES2024, not in this project's lib types).
 */
const wellFormed = (s: string): boolean =>
  (s as string & { isWellFormed(): boolean }).isWellFormed();

/**
 * Checks a parsed body without recursion (a body may be nested a million levels): no
 * object or array deeper than `maxDepth`, no NUL and no lone surrogate in any string or key
 * (Postgres refuses NUL in text and jsonb, and a lone surrogate in jsonb). Returns the failing fields, empty when the body is fine.
 */
export function checkParsedInput(
  value: unknown,
  maxDepth: number = INPUT_LIMITS.jsonDepth,
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: '', depth: 0 }];
  while (stack.length > 0 && problems.length < MAX_LISTED) {
    const node = stack.pop()!;
    if (typeof node.value === 'string') {
      if (node.value.includes('\u0000'))
        problems.push({ field: node.path || 'body', messages: ['must not contain NUL (\\u0000)'] });
      else if (!wellFormed(node.value))
        problems.push({
          field: node.path || 'body',
          messages: ['must be whole Unicode (a lone surrogate like \\ud800 is not)'],
        });
      continue;
    }
    if (node.value === null || typeof node.value !== 'object') continue;
    const depth = node.depth + 1;
    if (depth > maxDepth) {
      problems.push({
        field: node.path || 'body',
        messages: [`must not be nested more than ${maxDepth} levels deep`],
      });
      continue;
    }
    if (Array.isArray(node.value)) {
      for (let i = node.value.length - 1; i >= 0; i--)
        stack.push({ value: node.value[i], path: fieldPath(node.path, i), depth });
      continue;
    }
    const entries = Object.entries(node.value as Record<string, unknown>);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i];
      const path = fieldPath(node.path, key);
      if (key.includes('\u0000') || !wellFormed(key)) {
        problems.push({
          field: path,
          messages: ['names must not contain NUL (\\u0000) or a lone surrogate'],
        });
        continue;
      }
      stack.push({ value: child, path, depth });
    }
  }
  return problems;
}

/**
 * Why a body Fastify's JSON parser refused is not taken, for `errors` (Fastify says only that
 * it is not valid JSON): empty, where the syntax breaks (JSON.parse's own words), or, when it
 * parses, the prototype poisoning the parser refuses.
 */
export function notJson(text: string): string {
  if (text.trim() === '') return 'must not be empty: send a JSON value, or no Content-Type';
  try {
    JSON.parse(text);
  } catch (err) {
    // Without the excerpt of the body V8 quotes in some messages (it may hold a secret).
    return `must be JSON: ${(err as Error).message.replace(/, (\.\.\.)?".*$/s, '')}`;
  }
  return 'must not have a __proto__ member, nor a constructor member with a prototype member';
}

export function inputProblem(errors: FieldProblem[]): ProblemException {
  return new ProblemException({ code: 'validation-failed', extensions: { errors } });
}

/** RFC 9110 token: a parameter's name. */
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
/** One `; name=value` parameter of a media type, its value a token or a quoted string. */
const PARAMETER = new RegExp(`;\\s*(${TOKEN})\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;"]*))`, 'g');

/** The values of every `charset` parameter of a Content-Type (unquoted, as sent). */
export function charsetsOf(contentType: string): string[] {
  const charsets: string[] = [];
  for (const [, name, quoted, token] of contentType.matchAll(PARAMETER)) {
    if (name.toLowerCase() !== 'charset') continue;
    charsets.push(quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : token.trim());
  }
  return charsets;
}

/** The header lines of one field as sent (rawHeaders: Node joins or drops repeats). */
function linesOf(rawHeaders: readonly string[], name: string): string[] {
  const lines: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2)
    if (rawHeaders[i].length === name.length && rawHeaders[i].toLowerCase() === name)
      lines.push(rawHeaders[i + 1]);
  return lines;
}

/**
 * The charset labels taken: UTF-8's (WHATWG's `utf8` alias too: some clients send it) and
 * ASCII's, a subset of UTF-8 (anything else in the body still fails the strict UTF-8 read).
 */
const UTF8_LABELS = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii']);

/** Said of a value the caller sent, cut short: a detail is no place for a whole header. */
const cut = (value: string) => (value.length > 64 ? `${value.slice(0, 64)}…` : value);

/**
 * Why a body cannot be read as the text it is parsed as, or undefined when it can: the
 * Content-Type given more than once (Node reads the first, other readers the last: 400 naming
 * it), a content coding other than identity on a body (`gzip`, `br`, or a list of codings:
 * the bytes are not the text, and no service decodes them), or a `charset` other than UTF-8
 * (the body is read as UTF-8, which a UTF-16 text is not): 415, RFC 9110 §15.5.16, with
 * Accept-Encoding saying which coding is taken.
 */
export function bodyEncodingProblem(
  rawHeaders: readonly string[],
  bodyBytes: number,
): ProblemException | undefined {
  const contentTypes = linesOf(rawHeaders, 'content-type');
  if (contentTypes.length > 1)
    return inputProblem([{ field: 'content-type', messages: ['must be sent once'] }]);
  const codings = linesOf(rawHeaders, 'content-encoding')
    .flatMap((line) => line.split(','))
    .map((coding) => coding.trim())
    .filter((coding) => coding !== '');
  const coding = codings.find((c) => c.toLowerCase() !== 'identity');
  if (bodyBytes > 0 && coding !== undefined)
    return new ProblemException({
      code: 'unsupported-media-type',
      detail: `Content-Encoding ${cut(coding)} is not supported: send the body without a content coding (identity).`,
      headers: { 'accept-encoding': 'identity' },
    });
  const charset = charsetsOf(contentTypes[0] ?? '').find((c) => !UTF8_LABELS.has(c.toLowerCase()));
  if (charset !== undefined)
    return new ProblemException({
      code: 'unsupported-media-type',
      detail: `charset ${cut(charset)} is not supported: the body is read as UTF-8 (send charset=utf-8, or none).`,
    });
  return undefined;
}

export interface BodyParserOptions {
  /** Keep the exact bytes as `request.rawBody` (webhook signatures). */
  rawBody: boolean;
  /** Media types parsed as JSON besides application/json. */
  jsonContentTypes: string[];
  /** Paths (prefixes) that take HTML form posts; everywhere else a form body is a 415. */
  formPathPrefixes: string[];
}

type RawBodyRequest = FastifyRequest & { rawBody?: Buffer };

/** Strict: bytes that are not UTF-8 are refused, not turned into U+FFFD. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The only body parsers of a JSON service: JSON (Fastify's own, which refuses prototype
 * poisoning, plus the depth and NUL checks above) for application/json and the service's
 * other JSON types, and HTML forms on the paths that serve forms. Fastify's text/plain parser
 * is removed, so any other content type is a 415 problem, and so is a body either parser
 * would not read as sent (bodyEncodingProblem: a content coding, a charset besides UTF-8).
 */
export function registerBodyParsers(fastify: FastifyInstance, options: BodyParserOptions): void {
  const { bodyLimit } = fastify.initialConfig;
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser(['application/json', 'text/plain']);
  fastify.addContentTypeParser(
    ['application/json', ...options.jsonContentTypes],
    { parseAs: 'buffer', bodyLimit },
    (request: RawBodyRequest, body, done) => {
      const unreadable = bodyEncodingProblem(request.raw.rawHeaders, (body as Buffer).length);
      if (unreadable) return done(unreadable, undefined);
      if (options.rawBody) request.rawBody = body as Buffer;
      let text: string;
      try {
        text = UTF8.decode(body as Buffer);
      } catch {
        return done(inputProblem([{ field: 'body', messages: ['must be UTF-8'] }]), undefined);
      }
      // Callback style: Fastify's default parser calls back and returns nothing to await.
      void parseJson(request, text, (err, value) => {
        if (err)
          return done(inputProblem([{ field: 'body', messages: [notJson(text)] }]), undefined);
        const problems = checkParsedInput(value);
        // A name given twice in one object means what each reader decides (RFC 8259 §4).
        const twice = problems.length === 0 ? repeatedMember(text) : undefined;
        if (twice !== undefined)
          problems.push({ field: twice || 'body', messages: ['must appear once in its object'] });
        return problems.length > 0 ? done(inputProblem(problems), undefined) : done(null, value);
      });
    },
  );
  fastify.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'buffer', bodyLimit },
    (request: RawBodyRequest, body, done) => {
      const path = request.url.split('?')[0];
      if (!options.formPathPrefixes.some((prefix) => path.startsWith(prefix))) {
        return done(
          new ProblemException({
            code: 'unsupported-media-type',
            detail: 'This endpoint takes application/json.',
          }),
          undefined,
        );
      }
      const unreadable = bodyEncodingProblem(request.raw.rawHeaders, (body as Buffer).length);
      if (unreadable) return done(unreadable, undefined);
      if (options.rawBody) request.rawBody = body as Buffer;
      const value = { ...parseQueryString((body as Buffer).toString('utf8')) };
      const problems = checkParsedInput(value);
      return problems.length > 0 ? done(inputProblem(problems), undefined) : done(null, value);
    },
  );
}
