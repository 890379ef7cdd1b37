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
type Labels = Record<string, string>;

/** Where one label set's numbers live, found by its values in label-name order. */
class LabelSets<T> {
  private readonly root = new Map<string, unknown>();
  private readonly all: { labels: Labels; cell: T }[] = [];

  constructor(
    private readonly metric: string,
    private readonly labelNames: readonly string[],
    private readonly create: () => T,
  ) {}

  get(labels: Labels): T {
    const names = this.labelNames;
    let node: Map<string, unknown> = this.root;
    for (let i = 0; i < names.length - 1; i++) {
      const next = node.get(labels[names[i]]) as Map<string, unknown> | undefined;
      if (next === undefined) return this.add(labels);
      node = next;
    }
    const cell = node.get(names.length === 0 ? '' : labels[names[names.length - 1]]) as
      T | undefined;
    return cell === undefined ? this.add(labels) : cell;
  }

  entries(): readonly { labels: Labels; cell: T }[] {
    return this.all;
  }

  clear(): void {
    this.root.clear();
    this.all.length = 0;
  }

  /** A label set seen for the first time: checked as prom-client checks every call. */
  private add(labels: Labels): T {
    for (const name of Object.keys(labels)) {
      if (!this.labelNames.includes(name))
        throw new Error(
          `Added label "${name}" is not included in initial labelset for ${this.metric}`,
        );
    }
    for (const name of this.labelNames) {
      if (typeof labels[name] !== 'string')
        throw new Error(`Label "${name}" of ${this.metric} needs a string value`);
    }
    const names = this.labelNames;
    let node = this.root;
    for (let i = 0; i < names.length - 1; i++) {
      let next = node.get(labels[names[i]]) as Map<string, unknown> | undefined;
      if (next === undefined) {
        next = new Map();
        node.set(labels[names[i]], next);
      }
      node = next;
    }
    const cell = this.create();
    node.set(names.length === 0 ? '' : labels[names[names.length - 1]], cell);
    // The caller's object may be reused or changed later: the exposition keeps its own copy.
    const copy: Labels = {};
    for (const name of names) copy[name] = labels[name];
    this.all.push({ labels: copy, cell });
    return cell;
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
  labels: Record<string, string | number>;
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
    registry.registerMetric(this as unknown as Metric);
  }

  observe(labels: Labels, value: number): void {
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
