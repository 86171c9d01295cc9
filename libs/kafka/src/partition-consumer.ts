/**
 * A consumer that works on the records of each partition concurrently and commits only what is
 * finished: the shape both the main consumer (webhooks.batches) and the retry-tier consumers share.
 *
 * KafkaJS facts this relies on (checked against kafkajs 2.2.4 and the real broker in
 * test/delivery/kafkajs-semantics.test.ts):
 * - The next fetch of a partition starts at the last *resolved* offset + 1. With auto-resolve off, a
 *   record that `eachBatch` did not resolve is fetched again, so unresolved work must come with a pause
 *   (otherwise the loop refetches it at once: busy polling).
 * - A paused partition is left out of fetches; resume() makes the next fetch start at the resolved
 *   offset again. When every partition is paused the fetch loop sleeps `maxWaitTimeInMs` and
 *   heartbeats, so the session stays alive however long requests take.
 * - Heartbeats only happen from the fetch loop, so `eachBatch` never awaits HTTP: it starts the work
 *   and returns; the work completes in the background and moves the commit point.
 * - consumer.commitOffsets() works outside eachBatch; on a rebalance KafkaJS rebuilds its resolved
 *   offsets from the committed ones (records in flight may be fetched again: they are skipped while
 *   the partition stays ours, and redelivered (at least once) when it moves to another member).
 *
 * Invariants: the committed offset of a partition never passes a record whose outcome is not durable;
 * per partition at most `window` records are in flight (started and not finished) and at most
 * `window * TRACKED_FACTOR` tracked (in flight, queued for the window, held until due, or done behind
 * an unfinished one); records fetched past the window wait in memory in offset order (queued) until a
 * record finishes, and reaching the tracked bound (or MAX_WAITING_BYTES queued) pauses the partition;
 * across partitions, and across the consumers sharing one `InFlightBytes`, the values of the records
 * in flight or queued total at most its limit (plus one record), and reaching it pauses every
 * partition that fetches until work finishes (what bounds a process's memory when records are large
 * batches).
 *
 * Why queue rather than pause at the window: a paused partition is left out of fetches, and the fetch
 * that is already waiting on the broker for the other (idle) partitions takes `maxWaitTimeMs` to come
 * back, so a partition paused at its window got one window of records per fetch wait (64 per 100 ms:
 * the ~550 requests/s ceiling of one busy partition). Queued records keep the window full while the
 * next fetch is under way.
 */
import type { Logger } from '@hookpost/logger';
import type { Counter, Gauge } from '@hookpost/metrics';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { type CommitOffset, CommitScheduler } from './commit-scheduler.ts';
import { InFlightBytes } from './in-flight-bytes.ts';
import type { KafkaRecord } from './log-reader.ts';
import { PartitionState } from './partition-state.ts';
import {
  type GroupMemberSettings,
  memberConfig,
  onSkippedOffsets,
  SupervisedConsumer,
} from './supervised-consumer.ts';

/** The series a partition consumer keeps (delivery registers them; their names are the service's). */
interface PartitionConsumerMetrics {
  readonly paused: Gauge<'consumer'>;
  readonly lag: Gauge<'topic' | 'partition'>;
  readonly commitErrors: Counter<'consumer'>;
}

export interface RecordContext {
  topic: string;
  partition: number;
  message: KafkaRecord;
  /** When the record became due (retry tiers) or null (main); for the lateness metric. */
  dueAt: number | null;
}

export interface PartitionConsumerOptions extends GroupMemberSettings {
  kafka: Kafka;
  topic: string;
  /** `main` or the tier name: the metric label and the log field. */
  name: string;
  /** The supervised consumer's name (its bounded metric label), e.g. `delivery-main`. */
  supervisorName: string;
  logger: Logger;
  metrics: PartitionConsumerMetrics;
  window: number;
  /** Bytes of record values in flight, shared by the consumers of a process (default: this consumer's own, 32 MiB). */
  inFlightBytes?: InFlightBytes;
  /** Largest fetch response (KafkaJS maxBytes; default 8 MiB): fetched records wait in memory until taken on. */
  maxFetchBytes?: number;
  commitIntervalMs: number;
  now: () => number;
  /** When a record may be attempted; null = now. Records not due are held and the partition paused. */
  dueAt?: (message: KafkaRecord) => number | null;
  /** Does the work; resolves once the outcome is durable. Must not reject (it retries itself). */
  handle: (ctx: RecordContext) => Promise<void>;
}

/** How many records may wait, finished, behind an unfinished one, in multiples of the window. */
const TRACKED_FACTOR = 16;

/**
 * Bytes of values one partition may hold queued behind its window: enough to keep a busy window full
 * through the fetch wait a resumed partition waits behind (the fetch already on the broker for the
 * other, idle partitions: up to maxWaitTimeMs), and small beside the process's bytes budget, which
 * still bounds every partition's together (InFlightBytes), so a partition whose window hangs cannot
 * take that budget from the others with records it cannot start. At 1 MiB a partition of batches of
 * one (~1.3 KB each) queued ~800 records, 80 ms of work at the 10 000 requests/s the bench's peer
 * phase reaches, less than the 100 ms fetch wait: the queue ran dry every cycle and delivery stayed at
 * 9 600-9 800 requests/s whatever its concurrency (10 or 20), window (256 or 1 024) or outbox size.
 * At 4 MiB: 12 000-12 200 (issue 15), and the tracked bound (16 windows) binds first for such records.
 */
const MAX_WAITING_BYTES = 4 * 1024 * 1024;

/** Every this many commit intervals, owned partitions are committed again even without progress (see CommitScheduler). */
const RECOMMIT_EVERY = 10;

/** Completions commit at most this often (a crash redelivers at most this much more finished work). */
const COMMIT_GAP_MS = 100;

const DEFAULT_MAX_IN_FLIGHT_BYTES = 32 * 1024 * 1024;
const DEFAULT_MAX_FETCH_BYTES = 8 * 1024 * 1024;

export class PartitionConsumer {
  private readonly options: PartitionConsumerOptions;
  private readonly log: Logger;
  private readonly supervised: SupervisedConsumer;
  private readonly partitions = new Map<number, PartitionState<RecordContext>>();
  private assigned = new Set<number>();
  private readonly commits: CommitScheduler;
  private stopping = false;
  private running = false;
  private inFlight = 0;
  private readonly bytes: InFlightBytes;
  private readonly unlisten: () => void;
  private idle: (() => void)[] = [];

  constructor(options: PartitionConsumerOptions) {
    this.options = options;
    this.log = options.logger.child({
      component: 'partition-consumer',
      consumer: options.name,
      topic: options.topic,
    });
    this.bytes = options.inFlightBytes ?? new InFlightBytes(DEFAULT_MAX_IN_FLIGHT_BYTES);
    this.unlisten = this.bytes.listen(() => this.resumeBytes());
    this.supervised = new SupervisedConsumer({
      kafka: options.kafka,
      name: options.supervisorName,
      logger: this.log,
      config: { ...memberConfig(options), maxBytes: options.maxFetchBytes ?? DEFAULT_MAX_FETCH_BYTES },
      setup: (c) => this.setup(c),
      onReset: () => this.reset(),
    });
    this.commits = new CommitScheduler({
      intervalMs: options.commitIntervalMs,
      minGapMs: Math.min(COMMIT_GAP_MS, options.commitIntervalMs),
      recommitEvery: RECOMMIT_EVERY,
      pending: (force) => this.committable(force),
      commit: (offsets) => this.consumer!.commitOffsets(offsets),
      onCommitted: (offsets) => {
        for (const o of offsets) {
          const s = this.partitions.get(o.partition);
          if (s) s.committed = Math.max(s.committed, Number(o.offset));
        }
      },
      onError: (error) => {
        this.options.metrics.commitErrors.inc({ consumer: this.options.name });
        this.log.warn({ err: error }, 'offset commit failed; will retry');
      },
    });
  }

  /** The current KafkaJS consumer; undefined while the supervisor rebuilds it. */
  private get consumer(): Consumer | undefined {
    return this.supervised.consumer;
  }

  get ready(): boolean {
    return this.running && !this.stopping && this.supervised.running;
  }

  /** Records accepted and not finished, across partitions. */
  get pending(): number {
    return this.inFlight;
  }

  async start(): Promise<void> {
    // Zero from the start: a first commit error must show as an increase, not a new series.
    this.options.metrics.commitErrors.inc({ consumer: this.options.name }, 0);
    await this.supervised.start();
    this.running = true;
    this.commits.start();
  }

  private async setup(c: Consumer): Promise<void> {
    c.on(c.events.GROUP_JOIN, ({ payload }) =>
      this.onAssignment(payload.memberAssignment[this.options.topic] ?? []),
    );
    // Until the new assignment is known, commit nothing: we may be about to lose any partition.
    c.on(c.events.REBALANCING, () => {
      this.assigned = new Set();
    });
    // Markers only: the commit point may pass them (else the group's lag never reads 0).
    onSkippedOffsets(c, (topic, partition, first, last) => {
      if (topic !== this.options.topic || this.stopping || !this.assigned.has(partition)) return;
      if (this.state(partition, Number(first)).tracker.skip(Number(first), Number(last)))
        this.scheduleCommit();
    });
    await c.connect();
    await c.subscribe({ topic: this.options.topic, fromBeginning: true });
    await c.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  /**
   * The consumer died and is rebuilt: every tracker belongs to the dead one. Dropping them means work
   * still in flight can no longer commit (its tracker is gone) and the next assignment starts from the
   * committed offsets: those records are delivered again (at least once), none is skipped.
   */
  private reset(): void {
    this.assigned = new Set();
    for (const [p, s] of this.partitions) {
      s.clearTimer();
      this.dropWaiting(s);
      this.options.metrics.lag.remove({ topic: this.options.topic, partition: String(p) });
    }
    this.partitions.clear();
    this.updatePausedGauge();
  }

  /** Stops taking records, lets in-flight work finish (each bounded by its timeout), commits, leaves. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.running) this.consumer?.pause([{ topic: this.options.topic }]);
    // Queued records are never started now: uncommitted, the next owner delivers them.
    for (const s of this.partitions.values()) this.dropWaiting(s);
    if (this.inFlight > 0) await new Promise<void>((r) => this.idle.push(r));
    this.unlisten();
    for (const s of this.partitions.values()) s.clearTimer();
    await this.commits.stop();
    await this.supervised.stop();
    this.running = false;
    this.options.metrics.paused.set({ consumer: this.options.name }, 0);
  }

  private onAssignment(partitions: number[]): void {
    this.assigned = new Set(partitions);
    // Work of a partition that moved away finishes but can no longer commit; the new owner starts
    // from the committed offset (at least once). Partitions we keep keep their trackers, so records
    // KafkaJS fetches again after the rebalance are recognised and skipped.
    for (const [p, s] of this.partitions) {
      if (!this.assigned.has(p)) {
        s.clearTimer();
        this.dropWaiting(s);
        this.partitions.delete(p);
        this.options.metrics.lag.remove({ topic: this.options.topic, partition: String(p) });
        // KafkaJS keeps pauses across rebalances: lift ours, or the partition would come back paused
        // with no state left to resume it.
        if (s.paused) this.consumer?.resume([{ topic: this.options.topic, partitions: [p] }]);
      } else {
        s.committed = -1;
      }
    }
    this.updatePausedGauge();
    this.log.info({ partitions }, 'partitions assigned');
  }

  private state(partition: number, firstOffset: number): PartitionState<RecordContext> {
    let s = this.partitions.get(partition);
    if (!s) {
      s = new PartitionState<RecordContext>(partition, firstOffset, this.flow, this.options.now);
      this.partitions.set(partition, s);
    }
    return s;
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const first = batch.messages[0];
    if (!first || this.stopping) return;
    const s = this.state(batch.partition, Number(first.offset));
    const now = this.options.now();
    this.options.metrics.lag.set(
      { topic: this.options.topic, partition: String(batch.partition) },
      Math.max(0, Number(batch.highWatermark) - s.tracker.committable),
    );
    // Resolving moves KafkaJS's fetch position; it may only pass records we have taken on.
    let contiguous = true;
    let heldUntil = Number.POSITIVE_INFINITY;
    for (const message of batch.messages) {
      if (!isRunning() || isStale() || this.stopping) break;
      const offset = Number(message.offset);
      if (s.tracker.seen(offset)) {
        if (contiguous) resolveOffset(message.offset);
        continue;
      }
      if (this.full(s)) {
        // Pending work will resume us; with none, the head is a held record and its due time will.
        if (s.tracker.pending > 0 || s.waiting.length > 0) s.pause('window');
        else heldUntil = Math.min(heldUntil, s.heldDue.get(s.tracker.committable) ?? now + 1000);
        break;
      }
      if (this.bytes.full) {
        // Work in flight (some partition's) finishes and resumes us.
        s.pause('bytes');
        break;
      }
      const dueAt = this.options.dueAt?.(message) ?? null;
      if (dueAt !== null && dueAt > now) {
        s.tracker.hold(offset);
        s.heldDue.set(offset, dueAt);
        contiguous = false;
        heldUntil = Math.min(heldUntil, dueAt);
        continue;
      }
      s.heldDue.delete(offset);
      if (contiguous) resolveOffset(message.offset);
      const ctx = { topic: batch.topic, partition: batch.partition, message, dueAt };
      this.bytes.take(bytesOf(ctx));
      if (s.tracker.pending < this.options.window && s.waiting.length === 0) {
        s.tracker.accept(offset);
        this.begin(s, ctx);
      } else {
        s.tracker.queue(offset);
        s.waiting.push(ctx);
        s.waitingBytes += bytesOf(ctx);
      }
    }
    if (heldUntil !== Number.POSITIVE_INFINITY) s.pauseUntil(heldUntil);
    // A marker after the last record (KafkaJS resolves past it with that record): commit past it too.
    const last = Number(batch.messages[batch.messages.length - 1]!.offset);
    if (s.tracker.seen(last) && s.tracker.skip(last + 1, Number(batch.lastOffset()))) this.scheduleCommit();
    await heartbeat();
  }

  /** Starts queued records while the window has room (in offset order). */
  private startWaiting(s: PartitionState<RecordContext>): void {
    while (!this.stopping && s.waiting.length > 0 && s.tracker.pending < this.options.window) {
      const ctx = s.waiting.shift()!;
      s.waitingBytes -= bytesOf(ctx);
      s.tracker.accept(Number(ctx.message.offset));
      this.begin(s, ctx);
    }
  }

  /** Forgets the queued records of a partition we stop working on (they stay uncommitted: redelivered). */
  private dropWaiting(s: PartitionState<RecordContext>): void {
    for (const ctx of s.waiting.splice(0)) this.bytes.give(bytesOf(ctx));
    s.waitingBytes = 0;
  }

  /**
   * Runs a record's work; its bytes were taken when it was taken on (started or queued). One reaction
   * per record (not then + finally): at one event per request this runs ~10 000 times a second.
   */
  private begin(s: PartitionState<RecordContext>, ctx: RecordContext): void {
    this.inFlight += 1;
    let work: Promise<void>;
    try {
      work = this.options.handle(ctx);
    } catch (error) {
      // A handler that throws instead of rejecting still ends its record's work here.
      work = Promise.reject(error);
    }
    work.then(
      () => this.done(s, ctx, null),
      (error: unknown) => this.done(s, ctx, error ?? new Error('record handler rejected')),
    );
  }

  /** A record's work ended: `error` null when it reached its durable outcome. */
  private done(s: PartitionState<RecordContext>, ctx: RecordContext, error: unknown): void {
    const offset = Number(ctx.message.offset);
    try {
      if (error === null) {
        // A tracker replaced by a rebalance no longer commits: the new owner redoes the record.
        if (this.partitions.get(s.partition) !== s) return;
        if (s.tracker.complete(offset)) this.scheduleCommit();
        this.startWaiting(s);
        // Resumed with room for a window's worth of records, so each fetch brings a useful amount.
        if (
          s.pausedFor('window') &&
          ((s.tracker.size <= this.trackedLimit - this.options.window &&
            s.waitingBytes < MAX_WAITING_BYTES / 2) ||
            (s.tracker.pending === 0 && s.waiting.length === 0))
        )
          s.resume('window');
      } else if ((error as Error)?.name === 'AbortError') {
        // The handler gave up waiting because we stop (e.g. for a rate limit): redone by the next owner.
        this.log.info({ partition: s.partition, offset }, 'record left uncommitted at shutdown');
      } else {
        // handle() retries its own failures; reaching here is a bug. The record stays unfinished so
        // the commit point never passes it (a restart redelivers it) and the window bounds the damage.
        this.log.error(
          { err: error, partition: s.partition, offset },
          'record handler failed; record left uncommitted',
        );
      }
    } finally {
      this.inFlight -= 1;
      this.bytes.give(bytesOf(ctx));
      if (this.inFlight === 0) for (const r of this.idle.splice(0)) r();
    }
  }

  /** Resumes every partition paused for the bytes in flight (any of them may take the freed room). */
  private resumeBytes(): void {
    for (const s of this.partitions.values()) if (s.pausedFor('bytes')) s.resume('bytes');
  }

  /**
   * In-flight work per partition is bounded by `window` (startWaiting); what is tracked (queued for the
   * window, held until due, done behind an unfinished one such as a request hanging until its
   * timeout) by `window * TRACKED_FACTOR`, and the values queued by MAX_WAITING_BYTES (plus one
   * record); reaching either pauses the partition.
   */
  private get trackedLimit(): number {
    return this.options.window * TRACKED_FACTOR;
  }

  private full(s: PartitionState<RecordContext>): boolean {
    return s.tracker.size >= this.trackedLimit || s.waitingBytes >= MAX_WAITING_BYTES;
  }

  /** KafkaJS pause/resume of one partition of our topic (resume not while stopping), and the gauge. */
  private readonly flow = {
    pause: (partition: number) =>
      this.consumer?.pause([{ topic: this.options.topic, partitions: [partition] }]),
    resume: (partition: number) => {
      if (!this.stopping) this.consumer?.resume([{ topic: this.options.topic, partitions: [partition] }]);
    },
    changed: () => this.updatePausedGauge(),
  };

  private updatePausedGauge(): void {
    let n = 0;
    for (const s of this.partitions.values()) if (s.paused) n += 1;
    this.options.metrics.paused.set({ consumer: this.options.name }, n);
  }

  private scheduleCommit(): void {
    this.commits.schedule();
  }

  /** Every assigned partition whose commit point moved (`force`: all of them); none without a consumer. */
  private committable(force: boolean): CommitOffset[] {
    if (!this.running || !this.consumer) return [];
    const offsets: CommitOffset[] = [];
    for (const s of this.partitions.values()) {
      const c = s.tracker.committable;
      if ((c > s.committed || force) && this.assigned.has(s.partition))
        offsets.push({ topic: this.options.topic, partition: s.partition, offset: String(c) });
    }
    return offsets;
  }
}

/** What a record counts against the bytes in flight: its value. */
function bytesOf(ctx: RecordContext): number {
  return ctx.message.value?.length ?? 0;
}
