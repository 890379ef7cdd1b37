import { Counter, type Metric, type Registry } from 'prom-client';

/**
 * Metrics a request path updates several times per request (the gateway's proxy path: five a
 * request). prom-client's inc() and observe() check the label names, build a key string from
 * the labels and look it up on every call, and observe() makes a closure and a labels copy per
 * observation: a few microseconds a request, in allocation and in hashing fresh strings.
 * Here a label set is found by its values in nested maps, checked once when first seen, and
 * updated as plain numbers. What a scrape reads is exactly what prom-client would show for the
 * same calls (hot-metrics.spec.ts compares the exposition text).
 */
type LabelValue = string | number;
type Labels = Partial<Record<string, LabelValue>>;

/** A label left out (prom-client leaves it out of the series too): its own key, no string's. */
const MISSING = Symbol('missing label');

/** A label value as a key: 200 and '200' are one series, as prom-client makes them. */
function keyOf(value: LabelValue | undefined): string | symbol {
  return value === undefined ? MISSING : typeof value === 'string' ? value : String(value);
}

/**
 * Where one label set's numbers live, found by its values in label-name order. A label set is
 * checked (no label the metric was not made with) when it is first seen, not on every call.
 */
class LabelSets<T> {
  private readonly root = new Map<string | symbol, unknown>();
  private readonly all: { labels: Labels; cell: T }[] = [];

  constructor(
    private readonly metric: string,
    private readonly labelNames: readonly string[],
    private readonly create: () => T,
  ) {}

  get(labels: Labels): T {
    const names = this.labelNames;
    let node = this.root;
    for (let i = 0; i < names.length - 1; i++) {
      const key = keyOf(labels[names[i]]);
      let next = node.get(key) as Map<string | symbol, unknown> | undefined;
      if (next === undefined) {
        this.check(labels);
        next = new Map();
        node.set(key, next);
      }
      node = next;
    }
    const last = names.length === 0 ? '' : keyOf(labels[names[names.length - 1]]);
    let cell = node.get(last) as T | undefined;
    if (cell === undefined) {
      this.check(labels);
      cell = this.create();
      node.set(last, cell);
      // The caller's object may be reused or changed later: the exposition keeps its own copy,
      // of the labels given (in the metric's label order).
      const copy: Labels = {};
      for (const name of names) if (labels[name] !== undefined) copy[name] = labels[name];
      this.all.push({ labels: copy, cell });
    }
    return cell;
  }

  entries(): readonly { labels: Labels; cell: T }[] {
    return this.all;
  }

  clear(): void {
    this.root.clear();
    this.all.length = 0;
  }

  private check(labels: Labels): void {
    for (const name of Object.keys(labels)) {
      if (!this.labelNames.includes(name))
        throw new Error(
          `Added label "${name}" is not included in initial labelset for ${this.metric}`,
        );
    }
  }
}

/**
 * A counter whose increments are added up as plain numbers and folded into its prom-client
 * Counter each time that is collected (every scrape, or a test's read).
 */
export class HotCounter {
  readonly counter: Counter<string>;
  private readonly sets: LabelSets<{ pending: number; seen: boolean }>;

  constructor(name: string, help: string, labelNames: readonly string[], registry: Registry) {
    // `seen`: a label set first added to with 0 still shows, at 0, as prom-client shows it.
    const sets = new LabelSets(name, labelNames, () => ({ pending: 0, seen: false }));
    this.sets = sets;
    this.counter = new Counter({
      name,
      help,
      labelNames: [...labelNames],
      registers: [registry],
      collect() {
        for (const { labels, cell } of sets.entries()) {
          if (cell.pending === 0 && cell.seen) continue;
          this.inc(labels, cell.pending);
          cell.pending = 0;
          cell.seen = true;
        }
      },
    });
    // A reset (the registry's resetMetrics) also drops what was not folded in yet.
    const reset = this.counter.reset.bind(this.counter);
    this.counter.reset = () => {
      reset();
      for (const { cell } of sets.entries()) cell.pending = 0;
    };
  }

  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0) || !Number.isFinite(by))
      throw new Error(`It is not possible to add ${by} to a counter`);
    this.sets.get(labels).pending += by;
  }
}

interface Buckets {
  /** Observations per bucket, not cumulative (the last one is +Inf's alone). */
  counts: number[];
  sum: number;
  count: number;
}

/** One sample of prom-client's metric data, as its Registry formats it. */
interface Sample {
  labels: Labels;
  sharedLabels?: Labels;
  value: number;
  metricName: string;
  exemplar?: null;
}

interface HistogramData {
  name: string;
  help: string;
  type: string;
  values: Sample[];
  aggregator: string;
}

/**
 * A histogram kept as plain numbers per label set, registered with prom-client's Registry as
 * a metric of its own: get() returns the data prom-client's Histogram returns, so the
 * exposition is the same line for line.
 */
export class HotHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly sets: LabelSets<Buckets>;

  constructor(
    readonly name: string,
    readonly help: string,
    labelNames: readonly string[],
    private readonly upperBounds: readonly number[],
    registry: Registry,
  ) {
    this.sets = new LabelSets(name, labelNames, () => ({
      counts: new Array<number>(upperBounds.length + 1).fill(0),
      sum: 0,
      count: 0,
    }));
    // Without labels its one series shows (at zero) before anything is observed, as
    // prom-client's does.
    if (labelNames.length === 0) this.sets.get({});
    registry.registerMetric(this as unknown as Metric);
  }

  /** As prom-client's: `observe(labels, value)`, or `observe(value)` without labels. */
  observe(value: number): void;
  observe(labels: Labels, value: number): void;
  observe(labelsOrValue: Labels | number, maybeValue?: number): void {
    const labels = typeof labelsOrValue === 'number' ? {} : labelsOrValue;
    const value = typeof labelsOrValue === 'number' ? labelsOrValue : (maybeValue as number);
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const cell = this.sets.get(labels);
    const bounds = this.upperBounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    cell.counts[i]++;
    cell.sum += value;
    cell.count++;
  }

  reset(): void {
    this.sets.clear();
  }

  /** The data prom-client's Registry formats as text: labels shared by a label set's lines. */
  getForPromString(): Promise<HistogramData> {
    const bucket = `${this.name}_bucket`;
    const values: Sample[] = [];
    for (const { labels, cell } of this.sets.entries()) {
      let cumulative = 0;
      this.upperBounds.forEach((le, i) => {
        cumulative += cell.counts[i];
        values.push({
          labels: { le },
          sharedLabels: labels,
          value: cumulative,
          metricName: bucket,
          exemplar: null,
        });
      });
      values.push(
        {
          labels: { le: '+Inf' },
          sharedLabels: labels,
          value: cell.count,
          metricName: bucket,
          exemplar: null,
        },
        { labels: {}, sharedLabels: labels, value: cell.sum, metricName: `${this.name}_sum` },
        { labels: {}, sharedLabels: labels, value: cell.count, metricName: `${this.name}_count` },
      );
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    });
  }

  /** The same data with each line's labels whole (getMetricsAsJSON), as prom-client's get(). */
  async get(): Promise<HistogramData> {
    const data = await this.getForPromString();
    data.values = data.values.map(({ sharedLabels, labels, ...sample }) => ({
      ...sample,
      labels: { ...labels, ...sharedLabels },
    }));
    return data;
  }
}
