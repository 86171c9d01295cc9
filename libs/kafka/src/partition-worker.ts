/**
 * One input partition's exactly-once state: its transactional producer, the open transaction, the
 * position consumed and the offset committed. Every operation (a batch from the fetch loop, a commit
 * from a timer, revocation) runs on one promise chain, so a transactional producer never sees two
 * operations at once (KafkaJS does not guard against that).
 *
 * Invariants:
 * - `committed` is the group's committed offset for this partition as this worker last made it (or
 *   read it right after fencing the previous owner); everything before it has left in a committed
 *   transaction together with its outputs.
 * - Records at or past `position` have not been handed to the handler since the last commit or abort.
 * - After an abort, the handler has forgotten everything since `committed` and the consumer is sought
 *   back to `committed`, so those records are consumed again.
 * - A handler may hold records past a commit (PartitionHandler.prepareCommit): the commit then sends
 *   an offset below the consumed position, and the handler itself skips, when they are consumed again,
 *   the records whose outputs already committed (it records that in the same transaction).
 */
import type { Transaction } from 'kafkajs';
import { isFencedError } from './errors.ts';
import type { KafkaRecord } from './log-reader.ts';

export interface OutputRecord {
  topic: string;
  key: string | null;
  /** null is a tombstone (compacted topics). */
  value: string | Buffer | null;
  headers?: Record<string, string>;
  /** Explicit partition of `topic` (else the producer's partitioner picks one from the key). */
  partition?: number;
}

export interface PartitionTx {
  /** Sends records inside the partition's open transaction (begun on first use). */
  send(records: OutputRecord[]): Promise<void>;
}

type BatchDecision = 'commit' | 'hold';

export interface PartitionHandler {
  /**
   * Processes messages in offset order inside the partition's transaction. 'commit' sends the
   * consumed offsets and commits now; 'hold' keeps the transaction open (the handler commits later
   * through PartitionControl.commit, e.g. when its window ends). Throwing aborts the transaction.
   */
  onMessages(
    messages: KafkaRecord[],
    tx: PartitionTx,
    heartbeat: () => Promise<void>,
  ): Promise<BatchDecision>;
  /** Forget everything since the last commit: it will be consumed again (abort, revocation, fencing). */
  reset(): void;
  /**
   * Optional, once per ownership: after fencing the previous owner and reading the committed offset,
   * before the first records (e.g. to load state the previous owner committed).
   */
  init?(committed: string | undefined): Promise<void>;
  /**
   * Optional, in every commit's transaction before the offsets are sent: may send records, and returns
   * the offset to commit when it must stay below the consumed position (records still held, to be
   * consumed again after a crash); undefined commits the consumed position.
   */
  prepareCommit?(tx: PartitionTx, position: string): Promise<string | undefined>;
  /** Optional: the last commit succeeded (what it carried is durable now). */
  committed?(): void;
}

export interface PartitionControl {
  readonly topic: string;
  readonly partition: number;
  /** Runs `fn` in the partition's serial chain, then sends the consumed offsets and commits. */
  commit(fn: (tx: PartitionTx) => Promise<void>): Promise<void>;
}

/** The slice of a KafkaJS transactional producer the worker uses (a fake in unit tests). */
export interface TxProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  transaction(): Promise<Pick<Transaction, 'sendBatch' | 'sendOffsets' | 'commit' | 'abort'>>;
}

/** What the fetch loop hands a worker with each batch. */
export interface BatchContext {
  heartbeat(): Promise<void>;
  /** KafkaJS's in-memory fetch position; commits happen only through transactions. */
  resolveOffset(offset: string): void;
  /** Whether a seek on this partition is pending (the batch was fetched before it). */
  isStale(): boolean;
  /**
   * The fetch's last offset including what KafkaJS filtered out: a transaction marker after the last
   * record. KafkaJS resolves past it with the last record; the committed offset must pass it too, or
   * the group's lag stays at 1 after every upstream transaction.
   */
  lastOffset?: string;
}

interface WorkerHooks {
  /** Moves the consumer's fetch position of this partition (after an abort). */
  seek(offset: string): void;
  /** The group's committed offset for the partition, read after this worker fenced the previous owner. */
  fetchCommitted(): Promise<string | undefined>;
  /** Pauses fetching the partition until its ownership is settled again (after fencing). */
  onFenced(error: unknown): void;
  onTransaction(result: 'commit' | 'abort'): void;
  onError(error: unknown, during: string): void;
}

export interface WorkerOptions {
  topic: string;
  partition: number;
  groupId: string;
  producer: () => TxProducer;
  handler: (control: PartitionControl) => PartitionHandler;
  hooks: WorkerHooks;
  /** Value bytes per send inside a transaction (see DEFAULT_MAX_SEND_BYTES). */
  maxSendBytes?: number;
}

type State = 'new' | 'ready' | 'fenced' | 'closed';

/** KafkaJS sends one record batch per partition per send; the broker refuses one above max.message.bytes
 * (1 MiB by default), which KafkaJS retries forever. So a transaction sends chunks of at most this. */
const DEFAULT_MAX_SEND_BYTES = 512 * 1024;

/** The bytes of a record's value (what max.message.bytes and the send chunks count). */
export function valueBytes(r: OutputRecord): number {
  return typeof r.value === 'string' ? Buffer.byteLength(r.value) : (r.value?.length ?? 0);
}

/** Splits records into consecutive chunks whose values total at most `maxBytes` (a larger record goes alone). */
export function chunkRecords(records: OutputRecord[], maxBytes: number): OutputRecord[][] {
  const chunks: OutputRecord[][] = [];
  let current: OutputRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = valueBytes(r);
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
type OpenTx = Awaited<ReturnType<TxProducer['transaction']>>;

/** `${prefix}.${topic}.${partition}`: the same on every instance, so a new owner fences the old one. */
export function transactionalIdFor(prefix: string, topic: string, partition: number): string {
  return `${prefix}.${topic}.${partition}`;
}

export class PartitionWorker {
  readonly topic: string;
  readonly partition: number;
  private readonly options: WorkerOptions;
  private readonly handler: PartitionHandler;
  private chain: Promise<unknown> = Promise.resolve();
  private state: State = 'new';
  private producer: TxProducer | undefined;
  private tx: OpenTx | undefined;
  private position: bigint | undefined;
  private committed: bigint | undefined;

  constructor(options: WorkerOptions) {
    this.options = options;
    this.topic = options.topic;
    this.partition = options.partition;
    const control: PartitionControl = {
      topic: options.topic,
      partition: options.partition,
      commit: (fn) => this.commitFrom(fn),
    };
    this.handler = options.handler(control);
  }

  get status(): State {
    return this.state;
  }

  /** The offset the next commit would send (for tests and lag accounting). */
  get consumedPosition(): string | undefined {
    return this.position?.toString();
  }

  handleBatch(messages: KafkaRecord[], ctx: BatchContext): Promise<void> {
    return this.serial(async () => {
      if (this.state === 'closed' || this.state === 'fenced' || ctx.isStale()) return;
      if (this.state === 'new') await this.init();
      // A re-fetch after a rebalance or a lagging start may repeat records already handled.
      const fresh = messages.filter((m) => this.position === undefined || BigInt(m.offset) >= this.position);
      const last = messages[messages.length - 1];
      if (fresh.length === 0) {
        if (last) ctx.resolveOffset(last.offset);
        return;
      }
      this.committed ??= BigInt(fresh[0]!.offset);
      try {
        const decision = await this.handler.onMessages(fresh, this.txApi(), ctx.heartbeat);
        this.position = BigInt(fresh[fresh.length - 1]!.offset) + 1n;
        if (ctx.lastOffset !== undefined && BigInt(ctx.lastOffset) >= this.position)
          this.position = BigInt(ctx.lastOffset) + 1n;
        if (decision === 'commit') await this.commitNow();
      } catch (error) {
        await this.fail(error, 'batch');
        throw error;
      }
      ctx.resolveOffset(last!.offset);
    });
  }

  /**
   * Offsets first..last held only transaction markers (see onSkippedOffsets): the position moves past
   * them when everything before was consumed. If nothing consumed is waiting for a commit, an
   * offsets-only transaction commits that at once; otherwise the pending commit carries it (records a
   * handler holds without an open transaction must never be committed past).
   */
  skip(first: string, last: string): Promise<void> {
    return this.serial(async () => {
      if (this.state === 'new') await this.init();
      if (this.state !== 'ready' || this.position === undefined || this.position !== BigInt(first)) return;
      const idle = this.position === this.committed && !this.tx;
      this.position = BigInt(last) + 1n;
      if (!idle) return;
      try {
        await this.commitNow();
      } catch (error) {
        await this.fail(error, 'skip');
      }
    });
  }

  /** Stops owning the partition: aborts the open transaction and closes the producer. */
  close(): Promise<void> {
    return this.serial(async () => {
      if (this.state === 'closed') return;
      this.handler.reset();
      await this.dropProducer(true);
      this.state = 'closed';
    });
  }

  private commitFrom(fn: (tx: PartitionTx) => Promise<void>): Promise<void> {
    return this.serial(async () => {
      if (this.state !== 'ready') return;
      try {
        await fn(this.txApi());
        await this.commitNow();
      } catch (error) {
        await this.fail(error, 'commit');
        throw error;
      }
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Creating the producer's first transaction runs InitProducerId, which fences the previous owner. */
  private async init(): Promise<void> {
    this.producer = this.options.producer();
    await this.producer.connect();
    const probe = await this.producer.transaction();
    await probe.abort();
    // Read only now: the previous owner can no longer commit, so this offset is final.
    const committed = await this.options.hooks.fetchCommitted();
    this.committed = committed === undefined ? undefined : BigInt(committed);
    this.position = this.committed;
    try {
      await this.handler.init?.(committed);
    } catch (error) {
      // Not ready: the next batch starts the ownership over (a new producer fences this one).
      await this.dropProducer(true);
      throw error;
    }
    this.state = 'ready';
  }

  private txApi(): PartitionTx {
    return {
      send: async (records) => {
        if (records.length === 0) return;
        const tx = await this.openTx();
        for (const chunk of chunkRecords(records, this.options.maxSendBytes ?? DEFAULT_MAX_SEND_BYTES)) {
          const byTopic = new Map<string, OutputRecord[]>();
          for (const r of chunk) {
            const list = byTopic.get(r.topic) ?? [];
            list.push(r);
            byTopic.set(r.topic, list);
          }
          await tx.sendBatch({
            topicMessages: [...byTopic].map(([topic, list]) => ({
              topic,
              messages: list.map((r) => ({
                key: r.key,
                value: r.value,
                headers: r.headers,
                ...(r.partition === undefined ? {} : { partition: r.partition }),
              })),
            })),
          });
        }
      },
    };
  }

  private async openTx(): Promise<OpenTx> {
    if (!this.producer) throw new Error(`no producer for ${this.topic}[${this.partition}]`);
    this.tx ??= await this.producer.transaction();
    return this.tx;
  }

  private async commitNow(): Promise<void> {
    let target = this.position;
    if (this.handler.prepareCommit && this.position !== undefined) {
      const held = await this.handler.prepareCommit(this.txApi(), String(this.position));
      if (held !== undefined && BigInt(held) < this.position) target = BigInt(held);
    }
    const moved = target !== undefined && target !== this.committed;
    if (!moved && !this.tx) return;
    const tx = await this.openTx();
    if (moved) {
      await tx.sendOffsets({
        consumerGroupId: this.options.groupId,
        topics: [{ topic: this.topic, partitions: [{ partition: this.partition, offset: String(target) }] }],
      });
    }
    await tx.commit();
    this.tx = undefined;
    this.committed = target;
    this.options.hooks.onTransaction('commit');
    this.handler.committed?.();
  }

  private async fail(error: unknown, during: string): Promise<void> {
    this.options.hooks.onError(error, during);
    this.handler.reset();
    const fenced = isFencedError(error);
    let aborted = false;
    if (!fenced && this.tx) {
      try {
        await this.tx.abort();
        aborted = true;
      } catch (abortError) {
        this.options.hooks.onError(abortError, 'abort');
      }
    }
    this.options.hooks.onTransaction('abort');
    const hadTx = this.tx !== undefined;
    this.tx = undefined;
    this.position = this.committed;
    if (this.committed !== undefined) this.options.hooks.seek(String(this.committed));
    if (fenced) {
      await this.dropProducer(false);
      this.state = 'fenced';
      this.options.hooks.onFenced(error);
    } else if (hadTx && !aborted) {
      // The producer's transaction state is unknown: start over with a new one (and re-read offsets).
      await this.dropProducer(false);
      this.state = 'new';
    }
  }

  private async dropProducer(abort: boolean): Promise<void> {
    const tx = this.tx;
    this.tx = undefined;
    if (abort && tx) await tx.abort().catch((e: unknown) => this.options.hooks.onError(e, 'abort'));
    const producer = this.producer;
    this.producer = undefined;
    await producer?.disconnect().catch((e: unknown) => this.options.hooks.onError(e, 'disconnect'));
  }
}
