import { Counter, type Registry } from '@hookpost/metrics';

/** Fan-out counters; labels are bounded (poison reason only). Counted as processed, before commit. */
export function fanoutMetrics(registry: Registry) {
  const counter = (name: string, help: string, labelNames: string[] = []) =>
    new Counter({ name, help, labelNames, registers: [registry] });
  return {
    consumed: counter('webhooks_fanout_events_consumed_total', 'Records read from the events topic'),
    matched: counter('webhooks_fanout_events_matched_total', 'Events with at least one subscribed webhook'),
    dropped: counter(
      'webhooks_fanout_events_dropped_total',
      'Events no webhook subscribes to (counted and dropped)',
    ),
    dispatched: counter(
      'webhooks_fanout_dispatched_total',
      '(event, webhook) pairs sent on: listed in a dispatch record, or in a batch of their own (webhooks at max_events 1)',
    ),
    singles: counter(
      'webhooks_fanout_single_batches_total',
      'Batches of one event produced by the fan-out for webhooks at max_events 1 (not through the batcher)',
    ),
    suspended: counter(
      'webhooks_fanout_suspended_total',
      'Dispatch records dead-lettered because the webhook is suspended',
    ),
    filtered: counter(
      'webhooks_fanout_filtered_total',
      '(event, webhook) pairs not dispatched because the webhook content filter did not match',
    ),
    unknownType: counter(
      'webhooks_fanout_unknown_type_total',
      'Decodable events whose type is not in the catalog, dead-lettered with reason unknown_type',
    ),
    poison: counter(
      'webhooks_fanout_poison_total',
      'Undecodable or unrenderable records dead-lettered, by reason',
      ['reason'],
    ),
  };
}

export type FanoutMetrics = ReturnType<typeof fanoutMetrics>;
