import { Counter, Histogram, Registry } from 'prom-client';
import { HotCounter, HotHistogram } from './hot-metrics';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const LABELS = ['method', 'route', 'status'];

/** A fixed, varied sequence: values on bucket bounds, between them, past the last one. */
function observations(): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  const sets = [
    { method: 'GET', route: '/*', status: '200' },
    { method: 'POST', route: '/*', status: '402' },
    { method: 'GET', route: '/v1/plans', status: '200' },
    { method: 'GET', route: '/*', status: '500' },
  ];
  let seed = 7;
  for (let i = 0; i < 500; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const labels = sets[seed % sets.length];
    const value =
      i % 10 === 0 ? BUCKETS[i % BUCKETS.length] : i % 17 === 0 ? 3 + i : (seed % 100_000) / 40_000;
    out.push({ labels, value });
  }
  return out;
}

describe('HotHistogram', () => {
  it('is exposed exactly as prom-client exposes a Histogram given the same observations', async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const reference = new Histogram({
      name: 'paygate_test_seconds',
      help: 'Test durations',
      labelNames: LABELS,
      buckets: BUCKETS,
      registers: [theirs],
    });
    const hot = new HotHistogram('paygate_test_seconds', 'Test durations', LABELS, BUCKETS, ours);
    for (const { labels, value } of observations()) {
      reference.observe(labels, value);
      hot.observe(labels, value);
    }
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain(
      'paygate_test_seconds_bucket{le="+Inf",method="GET",route="/*",status="200"}',
    );
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
  });

  it('keeps its own copy of a label set, whatever the caller later does with its object', async () => {
    const registry = new Registry();
    const hot = new HotHistogram('paygate_copy_seconds', 'h', ['route'], [1], registry);
    const labels = { route: 'a' };
    hot.observe(labels, 0.5);
    labels.route = 'b';
    hot.observe({ route: 'a' }, 2);
    const text = await registry.metrics();
    expect(text).toContain('paygate_copy_seconds_count{route="a"} 2');
    expect(text).not.toContain('route="b"');
  });

  it('refuses what prom-client refuses: an unknown label, a value that is not finite', () => {
    const hot = new HotHistogram('paygate_bad_seconds', 'h', ['route'], [1], new Registry());
    expect(() => hot.observe({ route: 'a', customer: 'c' }, 1)).toThrow(/customer/);
    expect(() => hot.observe({ route: 'a' }, Number.NaN)).toThrow(TypeError);
    expect(() => hot.observe({ route: 'a' }, Number.POSITIVE_INFINITY)).toThrow(TypeError);
  });

  it('takes what prom-client takes: a label left out, a number for a value, no labels at all', async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const names = ['route', 'status'];
    const reference = new Histogram({
      name: 'paygate_loose_seconds',
      help: 'l',
      labelNames: names,
      buckets: [1],
      registers: [theirs],
    });
    const hot = new HotHistogram('paygate_loose_seconds', 'l', names, [1], ours);
    const plainReference = new Histogram({
      name: 'paygate_plain_seconds',
      help: 'p',
      buckets: [1],
      registers: [theirs],
    });
    const plain = new HotHistogram('paygate_plain_seconds', 'p', [], [1], ours);
    // Before any observation: the unlabelled one shows its zeros, the other nothing.
    expect(await ours.metrics()).toBe(await theirs.metrics());
    for (const [labels, value] of [
      [{ route: 'a' }, 0.5],
      [{ route: 'a', status: 200 }, 2],
      [{ route: 'a', status: '200' }, 0.25],
      [{ status: '500' }, 0.75],
    ] as const) {
      reference.observe(labels, value);
      hot.observe(labels, value);
    }
    plainReference.observe(0.5);
    plain.observe(0.5);
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('starts again from nothing when its registry is reset', async () => {
    const registry = new Registry();
    const hot = new HotHistogram('paygate_reset_seconds', 'h', ['route'], [1], registry);
    hot.observe({ route: 'a' }, 0.5);
    registry.resetMetrics();
    hot.observe({ route: 'b' }, 0.5);
    const text = await registry.metrics();
    expect(text).not.toContain('route="a"');
    expect(text).toContain('paygate_reset_seconds_count{route="b"} 1');
  });
});

describe('HotCounter', () => {
  it('reads as a prom-client Counter given the same increments, scrape after scrape', async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const names = ['route', 'status', 'code'];
    const reference = new Counter({
      name: 'paygate_test_total',
      help: 't',
      labelNames: names,
      registers: [theirs],
    });
    const hot = new HotCounter('paygate_test_total', 't', names, ours);
    const steps: [Record<string, string>, number][] = [
      [{ route: 'demo', status: '200', code: '' }, 1],
      [{ route: 'demo', status: '402', code: 'insufficient-credits' }, 1],
      [{ route: 'demo', status: '200', code: '' }, 3],
      [{ route: 'other', status: '200', code: '' }, 0],
    ];
    for (let scrape = 0; scrape < 3; scrape++) {
      for (const [labels, by] of steps) {
        reference.inc(labels, by);
        hot.inc(labels, by);
      }
      // Each scrape folds in what was added since the last one, once.
      expect(await ours.metrics()).toBe(await theirs.metrics());
    }
    expect(await ours.metrics()).toContain(
      'paygate_test_total{route="demo",status="200",code=""} 12',
    );
  });

  it('counts without labels, and refuses what prom-client refuses', async () => {
    const registry = new Registry();
    const hot = new HotCounter('paygate_plain_total', 'p', [], registry);
    hot.inc();
    hot.inc(undefined, 2);
    expect(await registry.metrics()).toContain('paygate_plain_total 3');
    expect(() => hot.inc({}, -1)).toThrow(/not possible/);
    expect(() => hot.inc({}, Number.NaN)).toThrow(/not possible/);
    const labelled = new HotCounter('paygate_labelled_total', 'l', ['route'], registry);
    expect(() => labelled.inc({ route: 'a', customer: 'c' })).toThrow(/customer/);
  });

  it('drops what it has not folded in yet when its registry is reset', async () => {
    const registry = new Registry();
    const hot = new HotCounter('paygate_reset_total', 'r', ['route'], registry);
    hot.inc({ route: 'a' }, 5);
    registry.resetMetrics();
    hot.inc({ route: 'a' }, 2);
    expect(await registry.metrics()).toContain('paygate_reset_total{route="a"} 2');
  });
});
