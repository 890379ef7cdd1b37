/**
 * bench/heap-sites: where a sampled heap profile's bytes were allocated (a `.heapprofile` of
 * bench/support/heap-sampler or of `node --heap-prof`), largest first: by function (its own
 * allocations) and by function with its callers.
 *   node dist/bench/heap-sites.js <profile> [--top=30] [--callers=3]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

function frameName({ functionName, url, lineNumber }: ProfileNode['callFrame']): string {
  const file = url.replace(/.*node_modules\//, '').replace(/.*\/dist\//, 'dist/');
  return `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
}

function main(): void {
  const [path, ...flags] = process.argv.slice(2);
  if (!path) throw new Error('usage: heap-sites <profile> [--top=30] [--callers=3]');
  const option = (name: string, fallback: number) =>
    Number(flags.find((f) => f.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
  const top = option('top', 30);
  const callers = option('callers', 3);
  const profile = JSON.parse(readFileSync(path, 'utf8')) as { head: ProfileNode };
  const bySite = new Map<string, number>();
  const byStack = new Map<string, number>();
  let total = 0;
  // Iterative: a deep profile would overflow the stack of a recursive walk.
  const pending: { node: ProfileNode; stack: string[] }[] = [{ node: profile.head, stack: [] }];
  while (pending.length > 0) {
    const { node, stack } = pending.pop() as { node: ProfileNode; stack: string[] };
    const here = [frameName(node.callFrame), ...stack];
    if (node.selfSize > 0) {
      total += node.selfSize;
      bySite.set(here[0], (bySite.get(here[0]) ?? 0) + node.selfSize);
      const key = here.slice(0, callers + 1).join('  <  ');
      byStack.set(key, (byStack.get(key) ?? 0) + node.selfSize);
    }
    for (const child of node.children) pending.push({ node: child, stack: here });
  }
  const print = (title: string, sizes: Map<string, number>) => {
    console.log(title);
    for (const [name, bytes] of [...sizes].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      const share = ((100 * bytes) / total).toFixed(1).padStart(5);
      console.log(`${share} %  ${(bytes / 1e6).toFixed(1).padStart(8)} MB  ${name}`);
    }
  };
  console.log(`${(total / 1e6).toFixed(1)} MB sampled in ${path}`);
  print('by function (own allocations):', bySite);
  print(`by function and ${callers} callers:`, byStack);
}

main();
