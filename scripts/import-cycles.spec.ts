import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import * as ts from 'typescript';

/**
 * No import cycle among the repository's TypeScript files, type-only imports included
 * (ESLint's import-x/no-cycle skips `import type`, and a cycle of types still ties two modules
 * into one). Imports are resolved the way the compiler does, @paygate/* and @test/* aliases
 * included; packages are not followed.
 */

const ROOT = resolve(__dirname, '..');
const TOP = ['apps', 'libs', 'scripts', 'bench', 'test'];

function tsFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory())
        return ['node_modules', 'dist', 'fixtures'].includes(name) ? [] : tsFiles(path);
      return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
    });
}

const config = ts.parseJsonConfigFileContent(
  ts.readConfigFile(join(ROOT, 'tsconfig.json'), (p) => ts.sys.readFile(p)).config,
  ts.sys,
  ROOT,
);
const rel = (path: string) => relative(ROOT, path).split(sep).join('/');

/** Each file's imports (values and types, re-exports included) that resolve to a file here. */
function importGraph(files: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = importedFiles.flatMap(({ fileName }) => {
      const resolved = ts.resolveModuleName(fileName, file, config.options, ts.sys).resolvedModule
        ?.resolvedFileName;
      return resolved && !resolved.includes('node_modules') && !resolved.endsWith('.d.ts')
        ? [rel(resolved)]
        : [];
    });
    graph.set(rel(file), [...new Set(targets)]);
  }
  return graph;
}

/** The cycles of a graph, one per strongly connected component of more than one file. */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    indices.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, indices.get(w)!));
      }
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!indices.has(v)) visit(v);
  return found;
}

describe('import cycles', () => {
  it('finds a cycle, type-only or not, when there is one', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(cycles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
    const { importedFiles } = ts.preProcessFile(
      "import type { X } from './x';\nexport { Y } from './y';\nimport z = require('./z');",
      true,
      true,
    );
    expect(importedFiles.map((f) => f.fileName)).toEqual(['./x', './y', './z']);
  });

  it('has none among the files of this repository', () => {
    const files = TOP.flatMap((top) => tsFiles(join(ROOT, top)));
    const graph = importGraph(files);
    expect(graph.size).toBeGreaterThan(300);
    expect(graph.get('apps/entitlement/src/main.ts')).toContain(
      'apps/entitlement/src/entitlement.module.ts',
    );
    expect(cycles(graph)).toEqual([]);
  });
});
