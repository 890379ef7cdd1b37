import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/**
 * The documentation holds together: the README stays a front door (at most 150 lines), and
 * every relative link in README.md, CONTRIBUTING.md and docs/ reaches a file of this
 * repository and, with a #fragment into a markdown file, one of its headings (GitHub's slugs).
 * Nothing may point outside the repository (../shared is not in a clone).
 */

const ROOT = resolve(__dirname, '..');
const README_MAX_LINES = 150;

function markdownFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return markdownFiles(path);
      return name.endsWith('.md') ? [path] : [];
    });
}

const FILES = [
  join(ROOT, 'README.md'),
  join(ROOT, 'CONTRIBUTING.md'),
  ...markdownFiles(join(ROOT, 'docs')),
];

/** The lines outside fenced code blocks (``` or ~~~), with their line numbers. */
function proseLines(text: string): { line: string; number: number }[] {
  const out: { line: string; number: number }[] = [];
  let fence: string | null = null;
  text.split('\n').forEach((line, i) => {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (marker) {
      if (fence === null) fence = marker[1][0].repeat(marker[1].length);
      else if (line.trim().startsWith(fence)) fence = null;
      return;
    }
    if (fence === null) out.push({ line, number: i + 1 });
  });
  return out;
}

/** GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function githubSlug(heading: string, seen: Map<string, number>): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/[`*]/g, '')
    .replace(/(^|\s)_+|_+(\s|$)/g, '$1$2'); // emphasis underscores, not those inside words
  const base = text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
  const count = seen.get(base) ?? 0;
  seen.set(base, count + 1);
  return count === 0 ? base : `${base}-${count}`;
}

const anchorCache = new Map<string, Set<string>>();

/** Every fragment a markdown file answers to: its headings' slugs and explicit HTML ids. */
function anchorsOf(file: string): Set<string> {
  const cached = anchorCache.get(file);
  if (cached) return cached;
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const { line } of proseLines(readFileSync(file, 'utf8'))) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)(\s+#+\s*)?$/.exec(line);
    if (heading) anchors.add(githubSlug(heading[1], seen));
    for (const m of line.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) anchors.add(m[1]);
  }
  anchorCache.set(file, anchors);
  return anchors;
}

/** Link targets of inline links, images and reference definitions, outside code. */
function linksOf(text: string): { target: string; line: number }[] {
  const links: { target: string; line: number }[] = [];
  for (const { line, number } of proseLines(text)) {
    const prose = line.replace(/(`+)[^`]*?\1/g, ''); // code spans
    for (const m of prose.matchAll(/!?\[[^\]]*\]\(\s*(<[^>]*>|[^)\s]+)(\s+"[^"]*")?\s*\)/g)) {
      links.push({ target: m[1].replace(/^<|>$/g, ''), line: number });
    }
    const definition = /^\s{0,3}\[[^\]]+\]:\s*(\S+)/.exec(prose);
    if (definition) links.push({ target: definition[1], line: number });
  }
  return links;
}

const EXTERNAL = /^[a-z][a-z0-9+.-]*:/i; // https:, mailto:, …

function problemsOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  const problems: string[] = [];
  const where = (line: number): string => `${relative(ROOT, file)}:${line}`;
  for (const { target, line } of linksOf(text)) {
    if (EXTERNAL.test(target)) continue;
    const [rawPath, fragment] = target.split('#', 2);
    const path = decodeURIComponent(rawPath);
    if (/(^|\/)\.\.\/shared(\/|$)/.test(path)) {
      problems.push(`${where(line)}: ${target} points to ../shared`);
      continue;
    }
    const resolved =
      path === '' ? file : resolve(path.startsWith('/') ? ROOT : dirname(file), '.' + sep + path);
    if (resolved !== ROOT && !resolved.startsWith(ROOT + sep)) {
      problems.push(`${where(line)}: ${target} points outside the repository`);
      continue;
    }
    if (!existsSync(resolved)) {
      problems.push(`${where(line)}: ${target}: no such file`);
      continue;
    }
    if (fragment !== undefined && resolved.endsWith('.md')) {
      if (!anchorsOf(resolved).has(decodeURIComponent(fragment)))
        problems.push(
          `${where(line)}: ${target}: no heading #${fragment} in ${relative(ROOT, resolved)}`,
        );
    }
  }
  return problems;
}

describe('documentation links', () => {
  it(`README.md has at most ${README_MAX_LINES} lines`, () => {
    const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').replace(/\n$/, '').split('\n');
    expect(lines.length).toBeLessThanOrEqual(README_MAX_LINES);
  });

  it('README.md, CONTRIBUTING.md and docs/ exist and link to something', () => {
    for (const file of FILES) expect(existsSync(file)).toBe(true);
    expect(linksOf(readFileSync(join(ROOT, 'README.md'), 'utf8')).length).toBeGreaterThan(5);
  });

  it.each(FILES.map((f) => [relative(ROOT, f), f]))(
    '%s: every relative link resolves inside the repository, anchors to headings',
    (_name, file) => {
      expect(problemsOf(file)).toEqual([]);
    },
  );

  it('slugs headings as GitHub does', () => {
    const seen = new Map<string, number>();
    expect(
      githubSlug('Operator API (entitlement, `:3011`, `Authorization: Bearer $ADMIN_TOKEN`)', seen),
    ).toBe('operator-api-entitlement-3011-authorization-bearer-admin_token');
    expect(githubSlug('4. Deciding fast and exactly', seen)).toBe('4-deciding-fast-and-exactly');
    expect(githubSlug("paygate's rules on top of CloudEvents", seen)).toBe(
      'paygates-rules-on-top-of-cloudevents',
    );
    expect(githubSlug('Usage', seen)).toBe('usage');
    expect(githubSlug('Usage', seen)).toBe('usage-1');
  });

  it('finds broken links, anchors and links out of the repository', () => {
    const text =
      '[a](docs/nowhere.md) [b](docs/testing.md#nowhere) [c](../shared/ARCHITECTURE.md) `[d](x.md)`';
    expect(linksOf(text).map((l) => l.target)).toEqual([
      'docs/nowhere.md',
      'docs/testing.md#nowhere',
      '../shared/ARCHITECTURE.md',
    ]);
    expect(problemsOf(join(ROOT, 'README.md'), `${text}\n[e](../../etc/passwd)`)).toEqual([
      'README.md:1: docs/nowhere.md: no such file',
      'README.md:1: docs/testing.md#nowhere: no heading #nowhere in docs/testing.md',
      'README.md:1: ../shared/ARCHITECTURE.md points to ../shared',
      'README.md:2: ../../etc/passwd points outside the repository',
    ]);
  });
});
