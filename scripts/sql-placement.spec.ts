import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';

/**
 * SQL lives in repositories. A source file under apps/* /src or libs/* /src may write SQL only
 * if it is a repository (`*.repository.ts`), a migration, or part of libs/database (the
 * persistence library: schema bootstrap, outbox and idempotency tables every service has).
 * And no source file but a service's `database/schema.ts` spells a schema name: tables are
 * named from that one constant. Tests, fixtures and generated files are not product code.
 */

const ROOT = resolve(__dirname, '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sourceFiles(path);
      if (!name.endsWith('.ts') || name.endsWith('.d.ts')) return [];
      if (/\.(spec|int-spec|e2e-spec)\.ts$|\.fixture\.ts$|^swagger-metadata\.ts$/.test(name))
        return [];
      return [path];
    });
}

const FILES = ['apps', 'libs'].flatMap((top) =>
  readdirSync(join(ROOT, top))
    .map((name) => join(ROOT, top, name, 'src'))
    .filter((src) => statSync(src, { throwIfNoEntry: false })?.isDirectory())
    .flatMap(sourceFiles),
);

const rel = (path: string) => relative(ROOT, path).split(sep).join('/');

/** A statement of SQL inside a string or template literal (upper-case keywords, as written here). */
const STATEMENT =
  /\b(SELECT\b[\s\S]*?\bFROM|INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM|CREATE\s+(UNIQUE\s+)?(TABLE|INDEX|SCHEMA)|ALTER\s+TABLE|TRUNCATE)\b/;
const LITERALS = /`(?:\\[\s\S]|\$\{[^}]*\}|[^`\\])*`|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"/g;

function sqlIn(text: string): string[] {
  return (text.match(LITERALS) ?? []).filter((literal) => STATEMENT.test(literal));
}

const mayHoldSql = (path: string) =>
  path.endsWith('.repository.ts') ||
  path.includes('/migrations/') ||
  path.startsWith('libs/database/src/');

describe('where SQL lives', () => {
  it('finds the files it is meant to judge', () => {
    const paths = FILES.map(rel);
    expect(paths).toContain('apps/entitlement/src/plans/plans.repository.ts');
    expect(paths).not.toContain('apps/entitlement/src/credits/credits.service.int-spec.ts');
    // The detector itself: it sees statements and lets prose through.
    expect(sqlIn('q(`SELECT "id"\n FROM ${t.grants} WHERE x = $1`)')).toHaveLength(1);
    expect(sqlIn("q('INSERT INTO a (b) VALUES ($1)')")).toHaveLength(1);
    expect(sqlIn('q(`UPDATE ${t.leases} SET "state" = $2`)')).toHaveLength(1);
    expect(sqlIn("log('select a plan from the list, then update it')")).toHaveLength(0);
  });

  it('is written only in repositories, migrations and libs/database', () => {
    const offenders = FILES.map(rel)
      .filter((path) => !mayHoldSql(path))
      .filter((path) => sqlIn(readFileSync(join(ROOT, path), 'utf8')).length > 0);
    expect(offenders).toEqual([]);
  });

  it('names its schema only through the service schema constant', () => {
    const offenders = FILES.map(rel)
      .filter((path) => !path.includes('/migrations/') && !path.endsWith('/database/schema.ts'))
      .filter((path) => /"(entitlement|metering)"\."/.test(readFileSync(join(ROOT, path), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
