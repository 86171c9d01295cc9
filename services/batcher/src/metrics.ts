import type { BatchRecord } from '@hookpost/contracts';
import { Counter, Gauge, Histogram, type Registry } from '@hookpost/metrics';

interface Tracked {
  readonly openBatches: number;
  readonly bufferedEvents: number;
}

/** Batcher metrics; bounded labels only. Gauges sum the partitions' accumulators at scrape time. */
export function batcherMetrics(registry: Registry) {
  const accumulators = new Set<WeakRef<Tracked>>();
  const sum = (f: (t: Tracked) => number) => {
    let n = 0;
    for (const ref of accumulators) {
      const t = ref.deref();
      if (t) n += f(t);
      else accumulators.delete(ref);
    }
    return n;
  };
  const batches = new Counter({
    name: 'webhooks_batches_produced_total',
    help: 'Batches produced',
    registers: [registry],
  });
  const size = new Histogram({
    name: 'webhooks_batch_size_events',
    help: 'Events per batch',
    buckets: [1, 5, 10, 25, 50, 100, 250, 499, 500],
    registers: [registry],
  });
  const fill = new Histogram({
    name: 'webhooks_batch_fill_seconds',
    help: 'Time from a batch first event entering its window to the batch closing',
    // Fine just past the common windows (1 s, 30 s): a batch closes a little after its window ends,
    // and with coarser buckets a quantile interpolated across 30-60 s read 44 s for a 30.1 s fill.
    buckets: [0.1, 0.5, 0.9, 1, 1.1, 1.25, 1.5, 2, 5, 10, 20, 29, 30, 30.1, 30.25, 30.5, 31, 32, 45, 60],
    registers: [registry],
  });
  new Gauge({
    name: 'webhooks_batches_open',
    help: 'Open batches held in memory',
    registers: [registry],
    collect() {
      this.set(sum((t) => t.openBatches));
    },
  });
  new Gauge({
    name: 'webhooks_batcher_buffered_events',
    help: 'Events held in open batches',
    registers: [registry],
    collect() {
      this.set(sum((t) => t.bufferedEvents));
    },
  });
  return {
    consumed: new Counter({
      name: 'webhooks_batcher_records_consumed_total',
      help: 'Dispatch records read',
      registers: [registry],
    }),
    deadLettered: new Counter({
      name: 'webhooks_batcher_dead_lettered_total',
      help: 'Dispatch records dead-lettered, by reason (poison, deleted)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    track(t: Tracked) {
      accumulators.add(new WeakRef(t));
    },
    produced(b: Pick<BatchRecord, 'event_ids' | 'created_at' | 'first_enqueued_at'>) {
      batches.inc();
      size.observe(b.event_ids.length);
      fill.observe(Math.max(0, b.created_at - b.first_enqueued_at) / 1000);
    },
  };
}

export type BatcherMetrics = ReturnType<typeof batcherMetrics>;
