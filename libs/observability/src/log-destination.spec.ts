import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { transpileModule, ModuleKind, ScriptTarget } from 'typescript';
import { MAX_WRITE_BYTES } from './log-destination';

/**
 * Each case runs in a process of its own, logging to its real standard output (a pipe), since
 * what is under test is what reaches that pipe: on exit, on kill -9, when the pipe is stuck.
 * The module is compiled as it stands in the source tree.
 */
const dir = mkdtempSync(join(tmpdir(), 'log-destination-'));
writeFileSync(
  join(dir, 'log-destination.js'),
  transpileModule(readFileSync(join(__dirname, 'log-destination.ts'), 'utf8'), {
    compilerOptions: { module: ModuleKind.CommonJS, target: ScriptTarget.ES2022 },
  }).outputText,
);

const LINE = {
  requestId: 'r'.repeat(24),
  req: { method: 'GET', url: '/demo/x' },
  res: { statusCode: 200 },
};

/** A child that logs through logDestination(bufferBytes), then runs `then` (JS source). */
function child(bufferBytes: number, lines: number, then: string): ChildProcess {
  const script = `
    const pino = require('pino');
    const { logDestination } = require(${JSON.stringify(join(dir, 'log-destination.js'))});
    let dropped = 0;
    const log = pino({ base: null }, logDestination(${bufferBytes}, { onDrop: () => dropped++ }));
    for (let i = 0; i < ${lines}; i++) log.info({ ...${JSON.stringify(LINE)}, i }, 'request completed');
    const report = (what) => require('node:fs').writeSync(2, JSON.stringify(what) + '\\n');
    ${then}
  `;
  return spawn(process.execPath, ['-e', script], {
    env: { ...process.env, NODE_PATH: join(__dirname, '..', '..', '..', 'node_modules') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function collect(stream: NodeJS.ReadableStream | null): { text: () => string } {
  let text = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => (text += chunk));
  return { text: () => text };
}

/** Every complete line parses as one log record; returns their `i`s. */
function indexes(text: string): number[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { i: number }).i);
}

async function waitUntil(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('logDestination', () => {
  it('writes every line, whole and in order, when the process exits', async () => {
    const p = child(2048, 5_000, 'process.exit(0);');
    const out = collect(p.stdout);
    await once(p, 'close');
    expect(indexes(out.text())).toEqual(Array.from({ length: 5_000 }, (_, i) => i));
  });

  it('writes a few lines out within the flush interval, with nothing more logged', async () => {
    const p = child(2048, 3, 'setTimeout(() => {}, 30_000);');
    const out = collect(p.stdout);
    try {
      await waitUntil(() => indexes(out.text()).length === 3);
    } finally {
      p.kill('SIGKILL');
    }
    expect(indexes(out.text())).toEqual([0, 1, 2]);
  });

  it('loses at most the gathered bytes and one write on kill -9, and tears no line', async () => {
    const lines = 2_000;
    const p = child(2048, lines, `report('logged'); setTimeout(() => {}, 30_000);`);
    const out = collect(p.stdout);
    const err = collect(p.stderr);
    await waitUntil(() => err.text().includes('logged'));
    // Let the writes already handed to the threadpool land (until the output has not grown for
    // 200 ms: a fixed 100 ms was too short on a loaded machine); the gathered rest is what a
    // kill -9 takes, never more than the buffer and the write in flight.
    let size = -1;
    let stableSince = Date.now();
    await waitUntil(() => {
      const now = out.text().length;
      if (now !== size) [size, stableSince] = [now, Date.now()];
      return Date.now() - stableSince >= 200;
    });
    p.kill('SIGKILL');
    await once(p, 'close');
    const seen = indexes(out.text());
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i));
    const lineBytes = Buffer.byteLength(out.text()) / seen.length;
    expect((lines - seen.length) * lineBytes).toBeLessThanOrEqual(2048 + MAX_WRITE_BYTES);
  });

  it('keeps the process running when its output takes nothing, drops past the bound, and still exits', async () => {
    // Nobody reads the pipe: it fills at 64 KiB. 20 MiB of lines are logged into it.
    const lines = 200_000;
    const p = child(
      2048,
      lines,
      `report({ dropped, rssMiB: Math.round(process.memoryUsage().rss / 1048576) });
       setTimeout(() => process.exit(0), 1500);`,
    );
    p.stdout?.pause();
    const err = collect(p.stderr);
    const exited = once(p, 'exit');
    await waitUntil(() => err.text().includes('dropped'), 60_000);
    const { dropped, rssMiB } = JSON.parse(err.text().trim().split('\n').pop() as string) as {
      dropped: number;
      rssMiB: number;
    };
    // Each line is ~130 bytes: past 16 MiB waiting, the rest were dropped and counted.
    expect(dropped).toBeGreaterThan(0);
    expect(dropped).toBeLessThan(lines);
    expect(rssMiB).toBeLessThan(400);
    // The pipe is still full (stuck for longer than STUCK_MS when the child exits): the exit
    // gives up on what waits instead of hanging on it.
    const [code] = await exited;
    expect(code).toBe(0);
    p.stdout?.resume();
  }, 30_000);
});
