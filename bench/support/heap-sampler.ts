/**
 * A preload that samples a service's allocations with V8's sampling heap profiler, to find
 * the allocation sites behind GC work under load:
 *   BENCH_NODE_ARGS="--require ./dist/bench/support/heap-sampler.js" node dist/bench/gateway.js
 * then `node dist/bench/heap-sites.js <profile>`. Settings (environment):
 *   HEAP_SAMPLE_DIR        where profiles go (default: the OS's temp folder), one per process,
 *                          rewritten every 5 s (a service stopped by the bench writes no end);
 *   HEAP_SAMPLE_DELAY_S    seconds before sampling starts (skip start-up), default 0;
 *   HEAP_SAMPLE_ALL=1      every allocation; by default only objects that outlived the young
 *                          generation (collected by a major GC, or still live): what is
 *                          promoted, which is what makes scavenges slow and old space grow;
 *   HEAP_SAMPLE_INTERVAL   mean bytes between samples, default 8192.
 * The sampler's own work (its profile writes) shows in the profile; leave it out when reading.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

const all = process.env.HEAP_SAMPLE_ALL === '1';
const dir = process.env.HEAP_SAMPLE_DIR ?? tmpdir();
// dist/apps/<service>/src/main.js → <service>
const main = process.argv[1] ?? 'node';
const service = basename(dirname(dirname(main)));
const out = join(dir, `${service}-${process.pid}${all ? '-all' : ''}.heapprofile`);
const session = new Session();
session.connect();

setTimeout(
  () => {
    session.post('HeapProfiler.startSampling', {
      samplingInterval: Number(process.env.HEAP_SAMPLE_INTERVAL ?? 8192),
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: all,
    });
    setInterval(() => {
      session.post('HeapProfiler.getSamplingProfile', (err, result) => {
        if (err) console.error(`heap-sampler: ${err.message}`);
        else writeFileSync(out, JSON.stringify(result.profile));
      });
    }, 5_000).unref();
  },
  Number(process.env.HEAP_SAMPLE_DELAY_S ?? 0) * 1000,
).unref();
