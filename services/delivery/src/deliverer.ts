/**
 * One record's work, from the consumed bytes to a durable outcome: find the webhook, make the attempt
 * (within the endpoint's concurrency limit), decide what follows, and produce the attempt record plus
 * the retry record or dead letter in one acknowledged send. Resolves only when that send is acked, so
 * the caller may then let the commit point pass the record. Never rejects: a failed produce is retried
 * (the record stays in flight; a crash meanwhile redelivers it, at least once). The one rejection:
 * shutdown beginning while an attempt waits for its webhook's rate or for a webhook version in the
 * subscription table (AbortError; the record stays uncommitted).
 */
import {
  type AttemptOutcome,
  type BatchRecord,
  type DeadLetterInput,
  type DeadLetterMessage,
  type DeadLetterReason,
  deadLetterMessage,
  deadLetterSource,
  parseBatchRecord,
  parseRetryRecord,
  type Webhook,
  webhookVersionHeader,
  webhookVersionOf,
} from '@hookpost/contracts';
import { HEADERS, type RecordContext, type TopicCatalog } from '@hookpost/kafka';
import type { Logger } from '@hookpost/logger';
import type { CounterSeries, HistogramSeries } from '@hookpost/metrics';
import type { SendInput, SendOutcome } from '@hookpost/sender';
import type { StageSpan, Tracing } from '@hookpost/tracing';
import type { TopicMessages } from './adapters/outbox.ts';
import { DELIVERY_DEFAULTS } from './definitions.ts';
import { type CircuitBreakers, isCircuitFailure } from './domain/breaker.ts';
import { EndpointKeys, type KeyedLimiter } from './domain/limiter.ts';
import { RateLimits } from './domain/rate-limit.ts';
import { attemptOutcome, attemptRecord, retryRecord } from './domain/records.ts';
import { decide, MAIN_TIER, type Tier } from './domain/retry-policy.ts';
import type { DeliveryMetrics } from './metrics.ts';
import { statusClass } from './metrics.ts';
import { RateGates } from './rate-gate.ts';

/** The HTTP attempt (HttpSender.send in production; tests may inject another). */
export type Send = (request: SendInput) => Promise<SendOutcome>;

export interface DelivererOptions {
  catalog: TopicCatalog;
  tiers: readonly Tier[];
  jitter: number;
  lookup: (webhookId: string) => Webhook | undefined;
  /**
   * Called before a webhook `lookup` does not know is judged deleted: resolves true once the table has
   * read as far as the subscriptions topic went (SubscriptionTable.settle). Absent: no wait.
   */
  settle?: (webhookId: string) => Promise<boolean>;
  /**
   * Resolves true once the lookup holds `version` of the webhook or later (or its deletion), false
   * after `timeoutMs`; rejects with an AbortError when `signal` aborts (SubscriptionTable.waitForVersion).
   * Without it, a record's x-webhook-version is not waited for.
   */
  awaitVersion?: (
    webhookId: string,
    version: number,
    timeoutMs: number,
    signal: AbortSignal,
  ) => Promise<boolean>;
  /** Longest wait for the table to reach a record's x-webhook-version (default DELIVERY_DEFAULTS.versionWaitMs). */
  versionWaitMs?: number;
  send: Send;
  limiter: KeyedLimiter;
  /** Per-webhook circuits: an open one skips the attempt (and the origin slot) altogether. */
  breakers: CircuitBreakers;
  publish: (items: TopicMessages[]) => Promise<void>;
  metrics: DeliveryMetrics;
  logger: Logger;
  now: () => number;
  random?: () => number;
  produceRetryMs: number;
  /** Aborted at shutdown: a produce that keeps failing then gives up (the record stays uncommitted). */
  signal?: AbortSignal;
  /** Per-webhook rate limits and 429 Retry-After holds (default: this deliverer's own). */
  rates?: RateLimits;
  /** Spans of attempts, retries and dead letters (default: off). */
  tracing?: Tracing;
}

interface Job {
  batch: BatchRecord;
  /** Attempt number of this attempt (1 = first). */
  attempt: number;
  /** The tier this attempt is made from: MAIN_TIER or a retry tier name. */
  tier: string;
  history: AttemptOutcome[];
  firstFailedAt: number | null;
  dueAt: number | null;
  ctx: RecordContext;
}

export class Deliverer {
  private readonly o: DelivererOptions;
  private readonly log: Logger;

  private readonly rates: RateLimits;
  private readonly gates: RateGates;
  /** Aborted by stopWaiting(): ends the waits for a webhook version. */
  private readonly waits = new AbortController();
  private readonly origins = new EndpointKeys();
  /** Per tier, the series every attempt bumps (bound once: see @hookpost/metrics series.ts). */
  private readonly tierSeries = new Map<string, TierSeries>();
  private readonly batchWait: HistogramSeries;

  constructor(options: DelivererOptions) {
    this.o = options;
    this.rates = options.rates ?? new RateLimits();
    this.gates = new RateGates(this.rates, options.now);
    this.log = options.logger.child({ component: 'deliverer' });
    this.batchWait = options.metrics.batchWait.series({});
  }

  private seriesOf(tier: string): TierSeries {
    let t = this.tierSeries.get(tier);
    if (!t) {
      const metrics = this.o.metrics;
      // By outcome, then status: no key to build per attempt.
      const requests = new Map<SendOutcome['kind'], Map<number | null, CounterSeries>>();
      t = {
        latency: metrics.latency.series({ tier }),
        requests: (outcome, status) => {
          let byStatus = requests.get(outcome);
          if (!byStatus) {
            byStatus = new Map();
            requests.set(outcome, byStatus);
          }
          let c = byStatus.get(status);
          if (!c) {
            c = metrics.requests.series({ outcome, status_class: statusClass(status), tier });
            byStatus.set(status, c);
          }
          return c;
        },
      };
      this.tierSeries.set(tier, t);
    }
    return t;
  }

  /**
   * A record of webhooks.batches: the first attempt. Not async: the attempt's promise is the record's
   * (one frame less per request at one event per request).
   */
  handleBatch = (ctx: RecordContext): Promise<void> => {
    const parsed = parseBatchRecord(ctx.message.value);
    if (!parsed.ok) return this.poison(ctx, parsed.error);
    return this.attempt({
      batch: parsed.value,
      attempt: 1,
      tier: MAIN_TIER,
      history: [],
      firstFailedAt: null,
      dueAt: null,
      ctx,
    });
  };

  /** A record of a retry tier topic (already due: the tier consumer held it until then). */
  handleRetry(tier: string): (ctx: RecordContext) => Promise<void> {
    return async (ctx) => {
      // The schema checks the batch inside and the history whole, so nothing below meets a missing field.
      const parsed = parseRetryRecord(ctx.message.value);
      if (!parsed.ok) return this.poison(ctx, parsed.error);
      const r = parsed.value;
      await this.attempt({
        batch: r.batch,
        attempt: r.attempt + 1,
        tier,
        history: r.history,
        firstFailedAt: r.first_failed_at,
        dueAt: r.due_at,
        ctx,
      });
    };
  }

  private async attempt(job: Job): Promise<void> {
    const { batch, ctx } = job;
    // Made on first use: a pino child (with redaction) cost ~40 µs per attempt, and most attempts log nothing.
    let child: Logger | undefined;
    const log = () =>
      (child ??= this.log.child({
        webhookId: batch.webhook_id,
        batchId: batch.batch_id,
        topic: ctx.topic,
        partition: ctx.partition,
        offset: ctx.message.offset,
        attempt: job.attempt,
        tier: job.tier,
      }));
    // Most attempts need no wait: the wait (and its promise) only when the rate says so.
    const wait = this.gates.wait(batch.webhook_id, this.o.lookup(batch.webhook_id)?.rate_limit?.per_second);
    if (wait) await this.paced(wait);
    // Looked up after the wait: the webhook may have changed (suspended, deleted) meanwhile.
    let webhook = this.o.lookup(batch.webhook_id);
    // Unknown here may be new rather than gone: the batch's producer read the creation first.
    if (!webhook && this.o.settle && (await this.o.settle(batch.webhook_id)))
      webhook = this.o.lookup(batch.webhook_id);
    if (!webhook) return this.dead(job, 'deleted', 'webhook no longer exists', [], log);
    const state = inactive(webhook);
    if (state) {
      const judged = await this.caughtUp(job, webhook, state, log);
      if (!judged.ok) return this.dead(job, judged.reason, judged.error, [], log);
      webhook = judged.webhook;
    }

    const span = this.o.tracing?.attempt(ctx.message, batch, job.attempt, job.tier);
    const { at, r } = await this.exchange(job, webhook, span?.traceparent);
    if (r.status !== null) this.rates.record(webhook.id, r.status, r.retryAfterMs, this.o.now());
    // The attempts so far with this one: for a retry record or a dead letter, not for a delivery.
    const history = () => [...job.history, attemptOutcome(job.attempt, job.tier, at, r)];
    const decision = decide({
      outcome: r,
      fromTier: job.tier,
      tiers: this.o.tiers,
      now: this.o.now(),
      jitter: this.o.jitter,
      random: this.o.random ?? Math.random,
    });
    span?.end(
      { 'http.response.status_code': r.status ?? 0, 'hookpost.outcome': decision.kind },
      decision.kind === 'delivered' ? null : r.error,
    );
    const attemptsTopic = this.o.catalog.topics.attempts.name;
    const key = batch.webhook_id;
    const outcomeOf =
      decision.kind === 'delivered' ? 'delivered' : decision.kind === 'retry' ? 'retry' : 'dead';
    const items: TopicMessages[] = [
      {
        topic: attemptsTopic,
        messages: [
          {
            key,
            value: JSON.stringify(
              attemptRecord(
                batch,
                job.attempt,
                job.tier,
                at,
                r,
                outcomeOf,
                this.o.breakers.snapshot(webhook.id),
              ),
            ),
          },
        ],
      },
    ];
    if (decision.kind === 'retry') {
      const rec = retryRecord(batch, history(), decision.tier.name, decision.dueAt, job.firstFailedAt ?? at);
      const next = this.o.tracing?.retry(span, decision.tier.name, decision.dueAt, rec.attempt);
      items.push({
        topic: this.o.catalog.retryTopic(decision.tier.name),
        messages: [
          {
            key,
            value: JSON.stringify(rec),
            headers: {
              ...next?.headers,
              // The version this attempt was made under: a tier consumer whose table is behind it
              // (still suspended from before a resume) waits for it rather than dead-lettering.
              ...webhookVersionHeader(webhook.version),
              [HEADERS.dueAt]: String(rec.due_at),
              [HEADERS.attempt]: String(rec.attempt),
              [HEADERS.firstFailedAt]: String(rec.first_failed_at),
            },
          },
        ],
      });
      await this.publish(items, log);
      this.o.metrics.retries.inc({ tier: decision.tier.name });
      if (this.log.isLevelEnabled('debug'))
        log().debug(
          { status: r.status, error: r.error, nextTier: decision.tier.name, dueAt: decision.dueAt },
          'attempt failed; retry scheduled',
        );
      return;
    }
    if (decision.kind === 'dead')
      return this.dead(job, decision.reason, r.error, history(), log, items, span);
    await this.publish(items, log);
    if (this.log.isLevelEnabled('debug'))
      log().debug({ status: r.status, latencyMs: r.latencyMs }, 'delivered');
  }

  /**
   * The webhook looks suspended or disabled in this process's table. That is the verdict unless the
   * record says its producer saw a newer document (x-webhook-version, set by replay and on retry
   * records): each service reads the subscriptions topic on its own, so a replay that follows a resume
   * can arrive before this table has read the resume, and dead-lettering it then would send the replay
   * straight back to the DLQ. Then wait (bounded) for the table to reach that version and judge the
   * webhook as it is then. Records without the header (every batch from the batcher) never wait, and the
   * header is read only here, off the delivery path. A deletion is not waited for: a tombstone has no
   * version to compare, and a replay is refused for a webhook its producer could not find.
   */
  private async caughtUp(
    job: Job,
    webhook: Webhook,
    state: 'suspended' | 'disabled',
    log: () => Logger,
  ): Promise<{ ok: true; webhook: Webhook } | { ok: false; reason: DeadLetterReason; error: string }> {
    const wanted = webhookVersionOf(job.ctx.message.headers);
    if (wanted === null || wanted <= webhook.version || !this.o.awaitVersion)
      return { ok: false, reason: 'suspended', error: `webhook ${state}` };
    const timeoutMs = this.o.versionWaitMs ?? DELIVERY_DEFAULTS.versionWaitMs;
    log().info(
      { tableVersion: webhook.version, recordVersion: wanted, status: state, timeoutMs },
      `webhook ${state} in the subscription table, but the record was produced under a newer version; waiting for the table`,
    );
    this.o.metrics.versionWaiting.inc();
    let reached: boolean;
    try {
      reached = await this.o.awaitVersion(webhook.id, wanted, timeoutMs, this.waits.signal);
    } finally {
      this.o.metrics.versionWaiting.dec();
    }
    this.o.metrics.versionWaits.inc({ result: reached ? 'caught_up' : 'timeout' });
    if (!reached) {
      const error = `webhook ${state} at version ${webhook.version} in this delivery's subscription table; the record was produced under version ${wanted} and the table had not caught up within ${timeoutMs} ms`;
      log().warn({ tableVersion: webhook.version, recordVersion: wanted, timeoutMs }, error);
      return { ok: false, reason: 'suspended', error };
    }
    const now = this.o.lookup(webhook.id);
    if (!now) return { ok: false, reason: 'deleted', error: 'webhook no longer exists' };
    const still = inactive(now);
    if (still) return { ok: false, reason: 'suspended', error: `webhook ${still}` };
    log().info({ tableVersion: now.version }, 'subscription table caught up; delivering');
    return { ok: true, webhook: now };
  }

  /**
   * Waits for the webhook's next request slot (`rate_limit.per_second`, a 429's Retry-After) on a
   * timer: the record stays in flight, so its partition's window fills and the partition pauses
   * rather than buffering; nothing is dropped and the wait is not a failed attempt.
   */
  private async paced(wait: Promise<void>): Promise<void> {
    this.o.metrics.rateLimited.inc();
    this.o.metrics.rateWaiting.inc();
    try {
      await wait;
    } finally {
      this.o.metrics.rateWaiting.dec();
    }
  }

  /**
   * Shutdown begins: attempts waiting for their webhook's rate end with an AbortError, their records
   * uncommitted (redelivered to the next owner), so a slow rate never holds a shutdown.
   */
  stopWaiting(): void {
    this.gates.stop();
    this.waits.abort();
  }

  /**
   * The HTTP attempt within the origin's limit, unless the webhook's circuit is open: then no request
   * and no origin slot, just a failed attempt `circuit_open` that the retry policy treats like any other.
   * The circuit is checked before queueing for a slot (so a refused batch does not wait behind the
   * hanging requests that opened it) and claimed once the slot is held (the half-open probe is one).
   * A suspect webhook (failures in a row) with a request running past the limiter's slow threshold is
   * refused the same way until that request ends: one hanging request at a time, and its other
   * batches do not hold their partition's window while they wait.
   */
  private async exchange(
    job: Job,
    webhook: Webhook,
    traceparent: string | undefined,
  ): Promise<{ at: number; r: SendOutcome }> {
    const circuit = webhook.id;
    const breakers = this.o.breakers;
    const origin = this.origins.of(webhook.url);
    // A webhook that has failed and has a request hanging past the slow threshold gets no other
    // request meanwhile: treated as open, so its batches move on instead of waiting in line.
    const hanging = () => breakers.suspect(circuit) && this.o.limiter.isSlow(origin, circuit);
    const attempt =
      breakers.allows(circuit) && !hanging()
        ? await this.o.limiter.run(
            origin,
            async () => {
              if (hanging() || !breakers.admit(circuit)) return null;
              const at = this.o.now();
              if (job.dueAt !== null)
                this.o.metrics.lateness.observe({ tier: job.tier }, Math.max(0, at - job.dueAt) / 1000);
              this.o.metrics.inFlight.n += 1;
              let r: SendOutcome;
              try {
                r = await this.o.send({
                  webhook,
                  batch: job.batch,
                  attempt: job.attempt,
                  now: at,
                  traceparent,
                });
              } catch (error) {
                // The sender maps failures to values; anything thrown is unexpected, and retrying is safe.
                r = unexpected(error);
              } finally {
                this.o.metrics.inFlight.n -= 1;
              }
              breakers.record(circuit, !isCircuitFailure(r));
              if (r.kind === 'delivered') this.o.limiter.observe(origin, r.latencyMs);
              return { at, r };
            },
            circuit,
            () => breakers.suspect(circuit),
          )
        : null;
    if (attempt) {
      const m = this.seriesOf(job.tier);
      m.requests(attempt.r.kind, attempt.r.status).inc();
      m.latency.observe(attempt.r.latencyMs / 1000);
      if (job.attempt === 1) this.batchWait.observe(Math.max(0, attempt.at - job.batch.created_at) / 1000);
      if (attempt.r.kind === 'delivered') {
        m.eventAge ??= this.o.metrics.eventAge.series({ tier: job.tier });
        m.eventAge.observe(Math.max(0, attempt.at + attempt.r.latencyMs - job.batch.oldest_event_at) / 1000);
      }
      return attempt;
    }
    this.o.metrics.circuitRefused.inc();
    return { at: this.o.now(), r: failed(CIRCUIT_OPEN) };
  }

  private async dead(
    job: Job,
    reason: DeadLetterReason,
    error: string | null,
    history: AttemptOutcome[],
    log: () => Logger,
    items: TopicMessages[] = [],
    /** The last attempt's span; none when the batch dies before one (deleted, suspended). */
    span?: StageSpan,
  ): Promise<void> {
    const { batch, ctx } = job;
    const { letter, record } = this.letter(ctx, false, {
      reason,
      webhookId: batch.webhook_id,
      batch,
      attempts: history.length > 0 ? history : job.history,
      error,
      traceHeaders: this.o.tracing?.deadLetter(span ?? ctx.message, reason, batch.webhook_id)?.headers,
    });
    items.push({ topic: this.o.catalog.topics.dlq.name, messages: [record] });
    await this.publish(items, log);
    this.o.metrics.dead.inc({ reason });
    log().warn({ reason, error, attempts: letter.attempts.length }, 'batch dead-lettered');
  }

  /** An unreadable record: to the DLQ with its exact bytes, and the partition moves on. */
  private async poison(ctx: RecordContext, error: string): Promise<void> {
    const child = this.log.child({ topic: ctx.topic, partition: ctx.partition, offset: ctx.message.offset });
    const log = () => child;
    // The key is the webhook id a well-formed record would have; an empty one says nothing.
    const key = ctx.message.key?.toString('utf8') || null;
    const traceHeaders = this.o.tracing?.deadLetter(ctx.message, 'poison', key)?.headers;
    const { record } = this.letter(ctx, true, { reason: 'poison', webhookId: key, error, traceHeaders });
    await this.publish([{ topic: this.o.catalog.topics.dlq.name, messages: [record] }], log);
    this.o.metrics.dead.inc({ reason: 'poison' });
    log().error({ error }, 'poison record dead-lettered');
  }

  /** The dead letter of the record being handled; its id is deterministic per input record. */
  private letter(
    ctx: RecordContext,
    withBytes: boolean,
    input: Omit<DeadLetterInput, 'source' | 'now'>,
  ): DeadLetterMessage {
    const source = deadLetterSource(ctx.topic, ctx.partition, ctx.message, withBytes);
    return deadLetterMessage({ ...input, source, now: this.o.now() });
  }

  private async publish(items: TopicMessages[], log: () => Logger): Promise<void> {
    for (;;) {
      try {
        await this.o.publish(items);
        return;
      } catch (error) {
        this.o.metrics.produceErrors.inc();
        if (this.o.signal?.aborted) throw error;
        log().warn({ err: error }, 'producing the outcome failed; retrying');
        await new Promise((r) => setTimeout(r, this.o.produceRetryMs));
      }
    }
  }
}

interface TierSeries {
  latency: HistogramSeries;
  /** Made at the first delivery: a tier whose attempts all fail has no age series, as before. */
  eventAge?: HistogramSeries;
  /** By outcome and status (a status is one of ~500 values, so the map stays small). */
  requests: (outcome: SendOutcome['kind'], status: number | null) => CounterSeries;
}

/** Why a webhook takes no delivery now (dead-lettered as `suspended`), or null when it does. */
function inactive(w: Webhook): 'suspended' | 'disabled' | null {
  return w.status === 'suspended' ? 'suspended' : w.enabled ? null : 'disabled';
}

/** The attempt error of a batch whose webhook circuit was open (no request was made). */
export const CIRCUIT_OPEN = 'circuit_open';

function unexpected(error: unknown): SendOutcome {
  return failed(`unexpected: ${(error as Error)?.message ?? String(error)}`.slice(0, 300));
}

function failed(error: string): SendOutcome {
  return { kind: 'retry', status: null, latencyMs: 0, error, retryAfterMs: null, responseExcerpt: null };
}
