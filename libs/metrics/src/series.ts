/**
 * Counters and histograms for per-request figures, whose label sets are bound once: `series(labels)`
 * returns an object that a hot path keeps and bumps with plain arithmetic. prom-client's `observe` and
 * `inc` take the labels as an object on every call, check them, build a hash string, look the series
 * up and allocate a closure; at one event per request delivery made four such calls per request, ~3 %
 * of its CPU and of its allocation (bench peer phase, max_events 1, issue 15). The exposition is
 * prom-client's: each class is a metric its Registry formats (`registerMetric`, `get()`), with the
 * same names, help, type and sample lines as prom-client's Counter and Histogram (series.test.ts
 * compares them).
 */
import type { Registry } from 'prom-client';

type Labels<L extends string> = Readonly<Record<L, string>>;

interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

interface MetricData {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: Sample[];
  aggregator: 'sum';
}

interface Options<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
  registers: Registry[];
}

/** Series by their label values (in labelNames order), each made on first use. */
abstract class Bound<L extends string, S> {
  readonly name: string;
  readonly help: string;
  readonly aggregator = 'sum' as const;
  protected readonly labelNames: readonly L[];
  protected readonly byKey = new Map<string, { labels: Labels<L>; series: S }>();

  constructor(options: Options<L>) {
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames ?? [];
    // The registry takes any object with a name and get(); prom-client's types want its own classes.
    for (const r of options.registers) r.registerMetric(this as never);
  }

  /** The series of these label values; keep it where the labels are fixed. */
  series(labels: Labels<L>): S {
    const key = this.labelNames.map((n) => labels[n]).join('\u0000');
    let entry = this.byKey.get(key);
    if (!entry) {
      for (const n of this.labelNames)
        if (typeof labels[n] !== 'string') throw new Error(`${this.name}: label ${n} missing`);
      const own = Object.fromEntries(this.labelNames.map((n) => [n, labels[n]])) as Labels<L>;
      entry = { labels: own, series: this.make() };
      this.byKey.set(key, entry);
    }
    return entry.series;
  }

  protected abstract make(): S;
  abstract get(): MetricData;

  reset(): void {
    this.byKey.clear();
    if (this.labelNames.length === 0) this.series({} as Labels<L>);
  }
}

export class CounterSeries {
  value = 0;

  inc(by = 1): void {
    if (!(by >= 0) || !Number.isFinite(by)) throw new RangeError('a counter only goes up by a finite amount');
    this.value += by;
  }
}

export class BoundCounter<L extends string = never> extends Bound<L, CounterSeries> {
  readonly type = 'counter' as const;

  constructor(options: Options<L>) {
    super(options);
    // Without labels the one series is there from the start (at 0), as prom-client's is.
    if (this.labelNames.length === 0) this.series({} as Labels<L>);
  }

  protected make(): CounterSeries {
    return new CounterSeries();
  }

  get(): MetricData {
    const values = [...this.byKey.values()].map(({ labels, series }) => ({
      labels: { ...labels },
      value: series.value,
    }));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

export class HistogramSeries {
  /** Observations per bucket (not cumulative); the last counts those above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  private readonly bounds: readonly number[];

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i += 1;
    this.counts[i]! += 1;
    this.sum += value;
    this.count += 1;
  }
}

export class BoundHistogram<L extends string = never> extends Bound<L, HistogramSeries> {
  readonly type = 'histogram' as const;
  private readonly bounds: readonly number[];

  constructor(options: Options<L> & { buckets: readonly number[] }) {
    super(options);
    this.bounds = [...options.buckets].sort((a, b) => a - b);
    if (this.labelNames.length === 0) this.series({} as Labels<L>);
  }

  protected make(): HistogramSeries {
    return new HistogramSeries(this.bounds);
  }

  get(): MetricData {
    const values: Sample[] = [];
    for (const { labels, series } of this.byKey.values()) {
      let acc = 0;
      this.bounds.forEach((le, i) => {
        acc += series.counts[i]!;
        values.push({ labels: { le, ...labels }, value: acc, metricName: `${this.name}_bucket` });
      });
      values.push(
        { labels: { le: '+Inf', ...labels }, value: series.count, metricName: `${this.name}_bucket` },
        { labels: { ...labels }, value: series.sum, metricName: `${this.name}_sum` },
        { labels: { ...labels }, value: series.count, metricName: `${this.name}_count` },
      );
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
