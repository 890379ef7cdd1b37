/**
 * bench/flamegraph: a V8 CPU profile (`node --cpu-prof`, e.g. a gateway's under bench/gateway
 * with BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof") drawn as a flame graph in SVG:
 * each box a function in a call stack, as wide as the share of the sampled time it was on the
 * stack for, its callers below it. Idle time is left out, so widths are shares of busy time
 * ((program) is V8's and native work no JavaScript frame is on the stack for).
 *   node dist/bench/flamegraph.js <profile.cpuprofile> <out.svg> [title] [--busiest=<seconds>]
 * `--busiest=20` draws only the 20 s of the profile with the most busy time (the load, without
 * start-up's module loading and compiling).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** A frame of the merged call tree: its own samples' time and its callees. */
interface Frame {
  name: string;
  total: number;
  children: Map<string, Frame>;
}

const WIDTH = 1200;
const ROW = 16;
/** Boxes narrower than this share of the busy time are not drawn (their time stays in the parent). */
const MIN_SHARE = 0.002;

function frameName({ functionName, url, lineNumber }: ProfileNode['callFrame']): string {
  const file = url ? basename(url.replace(/^file:\/\//, '')) : '';
  const fn = functionName || '(anonymous)';
  return file ? `${fn} ${file}:${lineNumber + 1}` : fn;
}

/** Sample i's time since the profile started, in ms. */
function sampleTimes(profile: CpuProfile): number[] {
  const times: number[] = [];
  let at = 0;
  for (const delta of profile.timeDeltas) times.push((at += delta) / 1000);
  return times;
}

/** The span of `lengthMs` with the most busy (non-idle) sampled time, in ms since the start. */
export function busiestWindow(profile: CpuProfile, lengthMs: number): { from: number; to: number } {
  const idle = new Set(
    profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id),
  );
  const times = sampleTimes(profile);
  const busy = (i: number) => (idle.has(profile.samples[i]) ? 0 : (profile.timeDeltas[i] ?? 0));
  let best = { from: 0, to: lengthMs, busy: -1 };
  let sum = 0;
  // Two pointers: [start, end] is every sample within lengthMs of the one at start.
  for (let start = 0, end = -1; start < times.length; start++) {
    while (end + 1 < times.length && times[end + 1] - times[start] <= lengthMs) sum += busy(++end);
    if (sum > best.busy) best = { from: times[start], to: times[start] + lengthMs, busy: sum };
    sum -= busy(start);
  }
  return { from: best.from, to: best.to };
}

/**
 * Merges the profile's samples into one call tree, weighted by each sample's time; with a
 * window (ms since the start), only its samples.
 */
export function callTree(profile: CpuProfile, window?: { from: number; to: number }): Frame {
  const times = window ? sampleTimes(profile) : [];
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const root: Frame = { name: 'all', total: 0, children: new Map() };
  profile.samples.forEach((id, i) => {
    if (window && (times[i] < window.from || times[i] > window.to)) return;
    const weight = profile.timeDeltas[i] ?? 0;
    if ((byId.get(id) as ProfileNode).callFrame.functionName === '(idle)') return;
    const stack: string[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at) as ProfileNode;
      if (node.callFrame.functionName !== '(root)') stack.push(frameName(node.callFrame));
    }
    if (stack.length === 0) return;
    root.total += weight;
    let frame = root;
    for (let s = stack.length - 1; s >= 0; s--) {
      let next = frame.children.get(stack[s]);
      if (!next)
        frame.children.set(stack[s], (next = { name: stack[s], total: 0, children: new Map() }));
      next.total += weight;
      frame = next;
    }
  });
  return root;
}

const escape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Warm colours by name, so one function has one colour wherever it appears. */
function colour(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return `rgb(${205 + (h % 50)},${80 + ((h >> 8) % 130)},${40 + ((h >> 16) % 40)})`;
}

export function flameSvg(root: Frame, title: string): string {
  const boxes: string[] = [];
  let depth = 0;
  const draw = (frame: Frame, x: number, level: number) => {
    const width = (frame.total / root.total) * WIDTH;
    depth = Math.max(depth, level);
    boxes.push(
      `<g><title>${escape(frame.name)} (${((frame.total / root.total) * 100).toFixed(1)} %)</title>` +
        `<rect x="${x.toFixed(1)}" y="LEVEL${level}" width="${width.toFixed(1)}" height="${ROW - 1}" fill="${colour(frame.name)}"/>` +
        (width > 40
          ? `<text x="${(x + 3).toFixed(1)}" y="TEXT${level}">${escape(frame.name.slice(0, Math.floor(width / 6.5)))}</text>`
          : '') +
        '</g>',
    );
    let at = x;
    const children = [...frame.children.values()].sort((a, b) => a.name.localeCompare(b.name));
    for (const child of children) {
      if (child.total / root.total >= MIN_SHARE) draw(child, at, level + 1);
      at += (child.total / root.total) * WIDTH;
    }
  };
  draw(root, 0, 0);
  const height = (depth + 1) * ROW + 40;
  // Flame graphs grow upwards: the root at the bottom.
  const body = boxes
    .join('\n')
    .replace(/y="LEVEL(\d+)"/g, (_, l) => `y="${height - 10 - (Number(l) + 1) * ROW}"`)
    .replace(/y="TEXT(\d+)"/g, (_, l) => `y="${height - 10 - Number(l) * ROW - 4}"`);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="monospace" font-size="11">\n` +
    `<rect width="100%" height="100%" fill="#fff"/>\n<text x="4" y="16" font-size="14">${escape(title)}</text>\n${body}\n</svg>\n`
  );
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const busiest = args.find((a) => a.startsWith('--busiest='));
  const [input, output, title] = args.filter((a) => a !== busiest);
  const seconds = busiest ? Number(busiest.slice('--busiest='.length)) : undefined;
  if (!input || !output || (seconds !== undefined && !(seconds > 0))) {
    console.error(
      'usage: node dist/bench/flamegraph.js <profile.cpuprofile> <out.svg> [title] [--busiest=<seconds>]',
    );
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(input, 'utf8')) as CpuProfile;
  const window = seconds ? busiestWindow(profile, seconds * 1000) : undefined;
  writeFileSync(output, flameSvg(callTree(profile, window), title ?? basename(input)));
  const span = window
    ? ` (${(window.from / 1000).toFixed(1)}-${(window.to / 1000).toFixed(1)} s of the profile)`
    : '';
  console.log(`flamegraph: ${output}${span}`);
}
