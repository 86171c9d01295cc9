/**
 * The batcher's partition handler. Records join their webhook's open batch; a batch closes when full
 * (max events or byte cap) or when its own window ends, and is produced in the partition's
 * transaction, which then commits within COMMIT_DELAY_MS (commits are coalesced). A commit sends the
 * input offset of the oldest open batch's first record (or the consumed position when none is open)
 * and, in the same transaction, the emitted-offset watermarks (watermarks.ts) to the partition of
 * webhooks.batcher-watermarks with the input partition's number; a new owner reads them before its
 * first records and skips what already left. An abort resets: its records are consumed again.
 */
import {
  type DeadLetterMessage,
  type DispatchRecord,
  LIMITS,
  maxEventsOf,
  type Webhook,
  webhookVersionHeader,
} from '@hookpost/contracts';
import {
  type KafkaRecord,
  type OutputRecord,
  type PartitionControl,
  type PartitionHandler,
  type PartitionTx,
  releaseBytes,
  valueBytes,
} from '@hookpost/kafka';
import type { Logger } from '@hookpost/logger';
import type { Tracing } from '@hookpost/tracing';
import {
  type BatchSettings,
  type ClosedBatch,
  type Entry,
  type Held,
  WindowAccumulator,
} from './accumulator.ts';
import { deadLetter } from './dead-letters.ts';
import { dispatchReader, type InputReader, type ReaderContext } from './inputs.ts';
import type { BatcherMetrics } from './metrics.ts';
import { commitOffset, poisonKey, Watermarks, webhookKey } from './watermarks.ts';

export interface Clock {
  now(): number;
  /** Runs `fn` after `ms`; returns a cancel function. */
  schedule(fn: () => void, ms: number): () => void;
}

export interface BatcherDeps {
  webhook(id: string): Webhook | undefined;
  /**
   * Called before a webhook `webhook` does not know is judged deleted: resolves once the table has read
   * as far as the subscriptions topic went (SubscriptionTable.settle), true when it caught up. The
   * fan-out's table may have read a new webhook's creation before this one did. Absent: no wait.
   */
  settle?(id: string): Promise<boolean>;
  topics: { batches: string; dlq: string; watermarks: string };
  /** Reads the committed watermark records of one input partition (the same partition number). */
  /** Reads the partition's watermarks; `onRecord` answers false for a record that is not a valid watermark. */
  readWatermarks(partition: number, onRecord: (key: string, value: string | null) => boolean): Promise<void>;
  /** Longest a batch stays open; caps each webhook's `batch.window_ms`. */
  windowMs: number;
  maxBytes: number;
  /**
   * Bytes held in open batches, across this process's partitions, above which a partition closes every
   * open batch of its own after its fetch (bounds memory with many webhooks each below their max).
   */
  maxBufferedBytes: number;
  clock: Clock;
  metrics: BatcherMetrics;
  logger: Logger;
  /** Batch spans linked to their events' traces (default: off). */
  tracing?: Tracing;
  /** How a partition's records are read (inputs.ts; default: dispatch records). */
  input?: (context: ReaderContext) => InputReader;
}

const HEARTBEAT_EVERY = 500;
const KEYS_MAX = 50_000;
/** Closed batches are sent (inside the open transaction) once this many value bytes or records wait. */
const FLUSH_BYTES = 256 * 1024;
const FLUSH_RECORDS = 1000;
/** Past maxBufferedBytes, a partition closes its largest batches until the instance holds this share of it. */
const DRAIN_TO = 0.75;
/**
 * Commits of a partition start at least this far apart, so a closed batch waits at most about this
 * long for its commit: more commits cost broker work, fewer cost latency.
 */
export const COMMIT_DELAY_MS = 100;
/**
 * …and a batch that finds the partition's last commit further back than COMMIT_DELAY_MS waits only
 * this long (more closed batches of the same fetches join it): the first batch after a quiet spell
 * no longer waits the full delay. At one event per request the bench's first arrival came ~190 ms
 * after the first event was produced, 100 of them this wait.
 */
export const COMMIT_LINGER_MS = 10;

/** Per webhook document (a new one on every update), so not rebuilt for every record. */
const settingsCache = new WeakMap<Webhook, BatchSettings>();

function settingsOf(w: Webhook): BatchSettings {
  let s = settingsCache.get(w);
  if (!s) {
    s = computeSettings(w);
    settingsCache.set(w, s);
  }
  return s;
}

function computeSettings(w: Webhook): BatchSettings {
  return {
    webhookId: w.id,
    format: w.format,
    maxEvents: maxEventsOf(w),
    windowMs: w.batch?.window_ms ?? LIMITS.defaultWindowMs,
  };
}

/**
 * Records for the open transaction, sent in sends of about FLUSH_BYTES or FLUSH_RECORDS: one broker
 * round trip per closed batch (a webhook at max_events 1 closes one per record) capped the batcher at a
 * few hundred batches/s, and memory holds little beside the open batches.
 */
class Outgoing {
  private list: OutputRecord[] = [];
  private owned: Buffer[] = [];
  private bytes = 0;
  private readonly flush: (out: OutputRecord[]) => Promise<void>;

  constructor(flush: (out: OutputRecord[]) => Promise<void>) {
    this.flush = flush;
  }

  /**
   * `owned`: the record's value, made for it alone and used by nothing else, freed once the send is
   * acknowledged (releaseBytes; not after a failed one, which the collector frees).
   */
  push(r: OutputRecord, owned?: Buffer): void {
    this.list.push(r);
    if (owned) this.owned.push(owned);
    this.bytes += valueBytes(r);
  }

  async sendIfFull(): Promise<void> {
    if (this.bytes >= FLUSH_BYTES || this.list.length >= FLUSH_RECORDS) await this.send();
  }

  async send(): Promise<void> {
    const out = this.list;
    const owned = this.owned;
    this.list = [];
    this.owned = [];
    this.bytes = 0;
    await this.flush(out);
    for (const b of owned) releaseBytes(b);
  }
}

export function batcherHandler(deps: BatcherDeps) {
  const held: Held = { bytes: 0 };
  return (control: PartitionControl): PartitionHandler => {
    const { partition } = control;
    const marks = new Watermarks();
    // Each webhook's watermark key, built once rather than per record (bounded: cleared when full).
    const keys = new Map<string, string>();
    const keyOf = (webhookId: string): string => {
      let key = keys.get(webhookId);
      if (key === undefined) {
        if (keys.size >= KEYS_MAX) keys.clear();
        key = webhookKey(partition, webhookId);
        keys.set(webhookId, key);
      }
      return key;
    };
    const acc = new WindowAccumulator({
      topic: control.topic,
      partition,
      windowMs: deps.windowMs,
      maxBytes: deps.maxBytes,
      held,
      onClose: (webhookId, lastOffset) => marks.emitted(keyOf(webhookId), BigInt(lastOffset)),
    });
    deps.metrics.track(acc);
    const traces = deps.tracing?.batches();
    const log = deps.logger.child({ topic: control.topic, partition });
    const reader = (deps.input ?? dispatchReader)({
      control,
      metrics: deps.metrics,
      log,
      tracing: deps.tracing,
    });
    let cancel: (() => void) | undefined;
    let timerAt: number | undefined;
    /** When records were first sent in the open transaction (it must commit soon after), if any. */
    let sentAt: number | undefined;
    /** When the partition's last commit was asked for (COMMIT_DELAY_MS counts from it). */
    let lastCommitAt = Number.NEGATIVE_INFINITY;

    const toRecord = (b: ClosedBatch): OutputRecord => {
      deps.metrics.produced(b);
      const span = traces?.close(b);
      // A replay's version (webhook-version.ts) goes on with its events: delivery waits for it.
      const headers =
        b.version === undefined ? span?.headers : { ...span?.headers, ...webhookVersionHeader(b.version) };
      return {
        topic: deps.topics.batches,
        key: b.webhook_id,
        value: b.value,
        ...(headers && { headers }),
      };
    };

    /** A closed batch's record, its value freed once sent (the batch's own bytes). */
    const pushBatch = (out: Outgoing, b: ClosedBatch) => out.push(toRecord(b), b.value);

    const toDlq = (letter: DeadLetterMessage): OutputRecord => ({ topic: deps.topics.dlq, ...letter.record });

    const send = async (tx: PartitionTx, out: OutputRecord[]) => {
      if (out.length === 0) return;
      await tx.send(out);
      sentAt ??= deps.clock.now();
    };
    const outgoing = (tx: PartitionTx) => new Outgoing((out) => send(tx, out));
    /** Closes `batches` one at a time into `out`, sending as it fills: never every closed value at once. */
    const closeInto = async (out: Outgoing, batches: Iterable<ClosedBatch>) => {
      for (const b of batches) {
        pushBatch(out, b);
        await out.sendIfFull();
      }
    };

    const clearTimer = () => {
      cancel?.();
      cancel = undefined;
      timerAt = undefined;
    };

    const tick = () => {
      cancel = undefined;
      timerAt = undefined;
      lastCommitAt = deps.clock.now();
      control
        .commit(async (tx) => {
          const out = outgoing(tx);
          await closeInto(out, acc.closing(deps.clock.now(), 'due'));
          await out.send();
        })
        .then(schedule, (error: unknown) =>
          log.warn({ err: error }, 'batch commit failed; its records will be consumed again'),
        );
    };

    /** The next wake-up: the earliest open batch's window end, or the pending commit. */
    function schedule(): void {
      const due = acc.deadline();
      const commitAt =
        sentAt === undefined
          ? undefined
          : Math.max(sentAt + COMMIT_LINGER_MS, lastCommitAt + COMMIT_DELAY_MS);
      const at = due === undefined ? commitAt : commitAt === undefined ? due : Math.min(due, commitAt);
      if (at === undefined || (timerAt !== undefined && timerAt <= at)) return;
      cancel?.();
      timerAt = at;
      cancel = deps.clock.schedule(tick, Math.max(0, at - deps.clock.now()));
    }

    /**
     * One (record, webhook): skipped when its batch already left before a crash, dead-lettered when the
     * webhook is gone, else added to the webhook's open batch (`out` gets whatever closed).
     */
    const place = (
      m: KafkaRecord,
      offset: bigint,
      webhookId: string,
      eventId: string,
      now: number,
      out: Outgoing,
      entry: () => Entry,
      record: () => DispatchRecord,
      version: number | undefined,
    ): void => {
      const key = keyOf(webhookId);
      if (marks.left(key, offset)) {
        skippedAny = true;
        return;
      }
      const webhook = deps.webhook(webhookId);
      if (!webhook) {
        // Its open batch leaves first: a webhook's records leave in offset order (watermarks.ts).
        for (const b of acc.closeWebhook(webhookId, now)) pushBatch(out, b);
        deps.metrics.deadLettered.inc({ reason: 'deleted' });
        const trace = deps.tracing?.carry(m.headers);
        out.push(toDlq(deadLetter('deleted', control, m, record(), 'webhook was deleted', now, trace)));
        marks.emitted(key, offset);
        return;
      }
      traces?.add(webhookId, eventId, m.headers);
      for (const b of acc.addEntry(entry(), m.offset, settingsOf(webhook), now, version)) pushBatch(out, b);
    };
    /**
     * A record dead-lettered for a suspended webhook (events input): its open batch leaves first, as in
     * `place` for a deleted one, so the webhook's records leave in offset order.
     */
    const suspend = (
      offset: bigint,
      webhookId: string,
      letter: () => DeadLetterMessage,
      now: number,
      out: Outgoing,
    ): void => {
      const key = keyOf(webhookId);
      if (marks.left(key, offset)) {
        skippedAny = true;
        return;
      }
      for (const b of acc.closeWebhook(webhookId, now)) pushBatch(out, b);
      out.push(toDlq(letter()));
      marks.emitted(key, offset);
    };
    /** Set by `place` when a record's webhook was skipped as already left. */
    let skippedAny = false;

    return {
      init: async (committed) => {
        await deps.readWatermarks(partition, (key, value) => marks.load(partition, key, value));
        // Those below the committed offset never match a record again; the next commit tombstones them.
        if (committed !== undefined) marks.pending(BigInt(committed));
      },
      onMessages: async (messages, tx, heartbeat) => {
        const out = outgoing(tx);
        // A replayed record that already left moves the commit point too: without a commit for it, a
        // partition whose last records were all skipped would keep its committed offset behind them.
        skippedAny = false;
        // One catch-up covers every record read before it began: at most one per fetch, and only for an
        // unknown webhook with a record that has not left yet (checked before awaiting, so the usual
        // record costs no promise).
        let caughtUp = false;
        const unsettled = (offset: bigint, id: string) =>
          !caughtUp && deps.settle !== undefined && !deps.webhook(id) && !marks.left(keyOf(id), offset);
        for (let i = 0; i < messages.length; i += 1) {
          const m = messages[i]!;
          const offset = BigInt(m.offset);
          const now = deps.clock.now();
          deps.metrics.consumed.inc();
          const read = await reader(m, now);
          if (read.kind === 'none') {
            // Nothing left for it: the commit point may pass it.
            skippedAny = true;
          } else if (read.kind === 'letter') {
            if (marks.left(poisonKey(partition), offset)) skippedAny = true;
            else {
              out.push(toDlq(read.letter()));
              marks.emitted(poisonKey(partition), offset);
            }
          } else {
            for (const s of read.suspended) suspend(offset, s.id, s.letter, now, out);
            for (const target of read.targets) {
              if (unsettled(offset, target.id)) caughtUp = await deps.settle!(target.id);
              place(m, offset, target.id, read.eventId, now, out, target.entry, target.record, read.version);
            }
          }
          await out.sendIfFull();
          if (i > 0 && i % HEARTBEAT_EVERY === 0) await heartbeat();
        }
        if (held.bytes > deps.maxBufferedBytes && acc.openBatches > 0) {
          // Many webhooks each below their max: this partition closes its largest batches until the
          // instance holds at most 3/4 of the bound (or this partition holds none) rather than hold more.
          const low = deps.maxBufferedBytes * DRAIN_TO;
          await closeInto(
            out,
            acc.closeLargest(deps.clock.now(), () => held.bytes > low),
          );
          await out.send();
          clearTimer();
          schedule();
          return 'commit';
        }
        await out.send();
        if (skippedAny) sentAt ??= deps.clock.now();
        schedule();
        return 'hold';
      },
      prepareCommit: async (tx, position) => {
        const target = commitOffset(BigInt(position), acc.firstOpenOffset());
        const records = marks.pending(target).map(
          (r): OutputRecord => ({
            topic: deps.topics.watermarks,
            partition,
            key: r.key,
            value: r.value ?? null,
          }),
        );
        if (records.length > 0) await tx.send(records);
        return String(target);
      },
      committed: () => {
        marks.committed();
        sentAt = undefined;
      },
      reset: () => {
        clearTimer();
        sentAt = undefined;
        acc.reset();
        traces?.clear();
        marks.rollback();
      },
    };
  };
}
