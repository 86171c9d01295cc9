/**
 * Delivery metrics, registered once on the injected registry. Labels are bounded: outcome, status
 * class, tier (from config), reason (a closed set), consumer (main or a tier); never webhook or URL.
 */
import { BoundCounter, BoundHistogram, Counter, Gauge, Histogram, type Registry } from '@hookpost/metrics';

export function statusClass(status: number | null): string {
  if (status === null) return 'none';
  if (status >= 100 && status < 600) return `${Math.floor(status / 100)}xx`;
  return 'other';
}

export class DeliveryMetrics {
  readonly requests: BoundCounter<'outcome' | 'status_class' | 'tier'>;
  readonly latency: BoundHistogram<'tier'>;
  readonly retries: Counter<'tier'>;
  readonly dead: Counter<'reason'>;
  readonly suspensions: Counter<'reason'>;
  /** HTTP requests in flight now: a number the hot path bumps, read into its gauge at each scrape. */
  readonly inFlight = { n: 0 };
  readonly paused: Gauge<'consumer'>;
  readonly lag: Gauge<'topic' | 'partition'>;
  readonly lateness: Histogram<'tier'>;
  readonly batchWait: BoundHistogram;
  readonly eventAge: BoundHistogram<'tier'>;
  readonly commitErrors: Counter<'consumer'>;
  readonly produceErrors: Counter;
  readonly dueHeaderInvalid: Counter<'tier' | 'reason'>;
  readonly circuitsOpen: Gauge;
  readonly circuitTransitions: Counter<'to'>;
  readonly circuitRefused: Counter;
  readonly rateLimited: Counter;
  readonly rateWaiting: Gauge;
  readonly versionWaits: Counter<'result'>;
  readonly versionWaiting: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    // Bumped on every attempt: series bound once (@hookpost/metrics series.ts), not prom-client's per-call labels.
    this.requests = new BoundCounter({
      name: 'webhooks_delivery_requests_total',
      help: 'HTTP attempts by outcome (delivered, retry, gone, refused), status class and tier (main or retry tier)',
      labelNames: ['outcome', 'status_class', 'tier'],
      registers,
    });
    this.latency = new BoundHistogram({
      name: 'webhooks_delivery_request_duration_seconds',
      help: 'HTTP attempt latency, from request start to response body read or failure',
      labelNames: ['tier'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.retries = new Counter({
      name: 'webhooks_delivery_retries_total',
      help: 'Batches produced to a retry tier, by the tier they were produced to',
      labelNames: ['tier'],
      registers,
    });
    this.dead = new Counter({
      name: 'webhooks_delivery_dlq_total',
      help: 'Records produced to the dead-letter topic by delivery, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.suspensions = new Counter({
      name: 'webhooks_delivery_suspensions_total',
      help: 'Webhooks the suspender set to suspended, by reason',
      labelNames: ['reason'],
      registers,
    });
    // Known label values start at 0, so the first dead letter or suspension is an increase() that
    // alerts see, not a series appearing out of nowhere.
    for (const reason of ['exhausted', 'gone', 'refused', 'deleted', 'suspended', 'poison'])
      this.dead.inc({ reason }, 0);
    for (const reason of ['exhausted', 'gone']) this.suspensions.inc({ reason }, 0);
    const inFlight = this.inFlight;
    new Gauge({
      name: 'webhooks_delivery_inflight_requests',
      help: 'HTTP requests in flight in this process',
      registers,
      collect() {
        this.set(inFlight.n);
      },
    });
    // The same name and labels as the exactly-once stages' gauge, so one panel and one alert cover
    // every stage. Measured from the finished prefix: records not yet delivered, retried or dead-lettered.
    this.lag = new Gauge({
      name: 'webhooks_consumer_lag_records',
      help: 'Records between the committed (finished) offset and the high watermark, per input topic and partition',
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.paused = new Gauge({
      name: 'webhooks_delivery_paused_partitions',
      help: 'Partitions paused for backpressure or until a retry is due, by consumer (main or tier)',
      labelNames: ['consumer'],
      registers,
    });
    this.lateness = new Histogram({
      name: 'webhooks_delivery_due_lateness_seconds',
      help: 'How late a retry attempt started after its due time',
      labelNames: ['tier'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    // The parts of an event's latency after its batch closed, so a p99 above the window can be told
    // apart: `webhooks_batch_fill_seconds` (batcher) is the window, these are what follows it.
    this.batchWait = new BoundHistogram({
      name: 'webhooks_delivery_batch_wait_seconds',
      help: "From a batch's close in the batcher to the start of its first attempt (its commit, the fetch, the queue for a slot); batcher and delivery clocks",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60],
      registers,
    });
    this.eventAge = new BoundHistogram({
      name: 'webhooks_delivery_event_age_seconds',
      help: "For each delivered batch, its oldest event's age when the receiver answered: from the MTA's created_at, so MTA and delivery clocks",
      labelNames: ['tier'],
      buckets: [
        0.25, 0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 10, 20, 30, 30.5, 31, 31.5, 32, 33, 35, 45, 60, 120, 300, 900,
        3600,
      ],
      registers,
    });
    this.commitErrors = new Counter({
      name: 'webhooks_delivery_commit_errors_total',
      help: 'Offset commits that failed (retried with the next progress); usually rebalances',
      labelNames: ['consumer'],
      registers,
    });
    this.produceErrors = new Counter({
      name: 'webhooks_delivery_produce_errors_total',
      help: 'Produce calls for outcomes that failed and were retried',
      registers,
    });
    // Zero-initialised per tier by the wiring (service.ts), which knows the tiers this process consumes.
    this.dueHeaderInvalid = new Counter({
      name: 'webhooks_delivery_due_header_invalid_total',
      help: 'Retry records whose x-due-at header was missing or not a number, or beyond what the tier could have set, and that were therefore taken as due now; by tier and reason (not_a_number, beyond_horizon)',
      labelNames: ['tier', 'reason'],
      registers,
    });
    // Per webhook would be one series per customer: the gauge counts circuits, the counter is by state.
    this.circuitsOpen = new Gauge({
      name: 'webhooks_delivery_circuits_open',
      help: 'Webhooks whose circuit is open or half-open in this process (their batches skip the HTTP attempt)',
      registers,
    });
    this.circuitTransitions = new Counter({
      name: 'webhooks_delivery_circuit_transitions_total',
      help: 'Circuit state changes, by the state entered (open, half_open, closed)',
      labelNames: ['to'],
      registers,
    });
    for (const to of ['open', 'half_open', 'closed']) this.circuitTransitions.inc({ to }, 0);
    this.circuitRefused = new Counter({
      name: 'webhooks_delivery_circuit_refused_total',
      help: 'Attempts not made because the webhook circuit was open; each went to the retry path as circuit_open',
      registers,
    });
    this.rateLimited = new Counter({
      name: 'webhooks_delivery_rate_limited_total',
      help: "Attempts that waited for their webhook's rate_limit.per_second or a 429 Retry-After before being sent",
      registers,
    });
    this.rateWaiting = new Gauge({
      name: 'webhooks_delivery_rate_waiting',
      help: "Attempts waiting now for their webhook's rate limit (each holds a place in its partition's window)",
      registers,
    });
    this.versionWaits = new Counter({
      name: 'webhooks_delivery_version_waits_total',
      help: "Records (replays, retries) whose webhook looked suspended or disabled in this process's subscription table while the record's x-webhook-version was newer, and that waited for the table: by result (caught_up: judged again on the newer document; timeout: dead-lettered as suspended)",
      labelNames: ['result'],
      registers,
    });
    for (const result of ['caught_up', 'timeout']) this.versionWaits.inc({ result }, 0);
    this.versionWaiting = new Gauge({
      name: 'webhooks_delivery_version_waiting',
      help: "Attempts waiting now for this process's subscription table to reach their record's x-webhook-version (each holds a place in its partition's window)",
      registers,
    });
  }
}
