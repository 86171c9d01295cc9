/**
 * Consume-transform-produce exactly once with KafkaJS. KafkaJS transactions carry no consumer-group
 * generation, so fencing comes from transactional ids instead: one transactional producer per
 * assigned input partition, its id derived from the service id, topic and partition. A new owner's
 * InitProducerId aborts the old owner's open transaction and makes its later commits fail, and the
 * new owner reads the committed offset only after that, so no record is processed twice or skipped.
 *
 * Outputs and the consumed offsets go in the same transaction; consumers of the outputs read
 * committed (KafkaJS's default). KafkaJS has no revocation callback: the assignment in each
 * GROUP_JOIN event is the truth, and workers of partitions no longer in it are closed.
 */
import type { Logger } from '@hookpost/logger';
import { Counter, Gauge, type Registry } from '@hookpost/metrics';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { createProducer } from './client.ts';
import { IDLE_FETCH_WAIT_MS } from './definitions.ts';
import {
  type PartitionControl,
  type PartitionHandler,
  PartitionWorker,
  transactionalIdFor,
} from './partition-worker.ts';
import { onSkippedOffsets, SupervisedConsumer } from './supervised-consumer.ts';

export interface TransactionalRunnerOptions {
  kafka: Kafka;
  logger: Logger;
  metrics?: Registry;
  groupId: string;
  topic: string;
  /** Service id; transactional ids are `<prefix>.<topic>.<partition>`, equal on every instance. */
  transactionalIdPrefix: string;
  /** Must exceed the longest time a transaction stays open (the batcher's window) with margin. */
  transactionTimeoutMs: number;
  createHandler: (control: PartitionControl) => PartitionHandler;
  partitionsConsumedConcurrently?: number;
  maxWaitTimeInMs?: number;
  maxBytesPerPartition?: number;
  /** Largest fetch response, all partitions together (KafkaJS maxBytes; default 8 MiB). */
  maxBytes?: number;
  sessionTimeoutMs?: number;
  /** Consumer name for health and metrics (bounded: one per role); defaults to the topic. */
  name?: string;
  /** Where a group without committed offsets starts. */
  fromBeginning?: boolean;
}

interface RunnerMetrics {
  transactions: Counter;
  lag: Gauge;
}

export class TransactionalRunner {
  private readonly options: TransactionalRunnerOptions;
  private readonly log: Logger;
  private readonly workers = new Map<number, PartitionWorker>();
  private readonly metrics: RunnerMetrics | undefined;
  private supervised: SupervisedConsumer | undefined;
  private admin: Admin | undefined;
  private assigned = new Set<number>();
  private joined = false;
  private stopped = false;
  private readonly fenceTimers = new Set<NodeJS.Timeout>();

  constructor(options: TransactionalRunnerOptions) {
    this.options = options;
    this.log = options.logger.child({
      component: 'tx-runner',
      topic: options.topic,
      groupId: options.groupId,
    });
    const registry = options.metrics;
    if (registry) {
      // One set per registry: a process may run more than one loop (the batcher with BATCHER_INPUT=events).
      const metric = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T) ?? make();
      this.metrics = {
        transactions: metric(
          'webhooks_transactions_total',
          () =>
            new Counter({
              name: 'webhooks_transactions_total',
              help: 'Kafka transactions of the consume-transform-produce loop, by result (commit, abort)',
              labelNames: ['result'],
              registers: [registry],
            }),
        ),
        lag: metric(
          'webhooks_consumer_lag_records',
          () =>
            new Gauge({
              name: 'webhooks_consumer_lag_records',
              help: 'Records between the last fetched offset and the high watermark, per input topic and partition',
              labelNames: ['topic', 'partition'],
              registers: [registry],
            }),
        ),
      };
    }
  }

  /** Whether the consumer has joined its group at least once and its loop runs now. */
  get running(): boolean {
    return this.joined && !this.stopped && (this.supervised?.running ?? false);
  }

  private get consumer(): Consumer | undefined {
    return this.supervised?.consumer;
  }

  /** Partitions this instance currently owns. */
  get partitions(): number[] {
    return [...this.assigned].sort((a, b) => a - b);
  }

  async start(): Promise<void> {
    const { kafka, groupId, topic } = this.options;
    this.admin = kafka.admin();
    await this.admin.connect();
    this.supervised = new SupervisedConsumer({
      kafka,
      name: `tx-${this.options.name ?? topic}`,
      logger: this.log,
      config: {
        groupId,
        allowAutoTopicCreation: false,
        readUncommitted: false,
        maxWaitTimeInMs: this.options.maxWaitTimeInMs ?? IDLE_FETCH_WAIT_MS,
        maxBytesPerPartition: this.options.maxBytesPerPartition ?? 1024 * 1024,
        maxBytes: this.options.maxBytes ?? 8 * 1024 * 1024,
        sessionTimeout: this.options.sessionTimeoutMs ?? 30_000,
        heartbeatInterval: Math.min(3000, Math.floor((this.options.sessionTimeoutMs ?? 30_000) / 3)),
      },
      setup: (consumer) => this.setup(consumer),
      // The old consumer's workers may still hold open transactions; closing them aborts those, and the
      // next assignment creates new workers that fence and read the committed offsets again.
      onReset: () => this.closeWorkers(),
    });
    await this.supervised.start();
  }

  private async setup(consumer: Consumer): Promise<void> {
    const { topic } = this.options;
    consumer.on(consumer.events.GROUP_JOIN, (event) => this.onAssignment(event.payload.memberAssignment));
    onSkippedOffsets(consumer, (t, partition, first, last) => {
      if (t === topic)
        this.workers
          .get(partition)
          ?.skip(first, last)
          .catch(() => {});
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: this.options.fromBeginning ?? true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 4,
      eachBatch: async ({ batch, heartbeat, resolveOffset, isStale }) => {
        const worker = this.workers.get(batch.partition);
        if (!worker) return;
        const last = batch.messages[batch.messages.length - 1];
        if (last) {
          const lag = Number(batch.highWatermark) - Number(last.offset) - 1;
          this.metrics?.lag.set({ topic, partition: String(batch.partition) }, Math.max(0, lag));
        }
        await worker.handleBatch(batch.messages, {
          heartbeat,
          resolveOffset,
          isStale,
          lastOffset: batch.lastOffset(),
        });
      },
    });
  }

  private async closeWorkers(): Promise<void> {
    for (const t of this.fenceTimers) clearTimeout(t);
    this.fenceTimers.clear();
    const workers = [...this.workers.values()];
    this.workers.clear();
    for (const p of this.assigned)
      this.metrics?.lag.remove({ topic: this.options.topic, partition: String(p) });
    this.assigned = new Set();
    await Promise.all(workers.map((w) => w.close()));
  }

  /** Stops fetching, aborts open transactions (their records are consumed again by the next owner). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.supervised?.stop();
    await this.closeWorkers();
    await this.admin?.disconnect().catch(() => {});
  }

  private onAssignment(assignment: Record<string, number[]>): void {
    this.joined = true;
    const now = new Set(assignment[this.options.topic] ?? []);
    for (const [partition, worker] of this.workers) {
      if (!now.has(partition) || worker.status === 'fenced' || worker.status === 'closed') {
        this.workers.delete(partition);
        this.metrics?.lag.remove({ topic: this.options.topic, partition: String(partition) });
        void worker.close();
      }
    }
    for (const partition of now) {
      if (!this.workers.has(partition)) this.workers.set(partition, this.createWorker(partition));
    }
    // A partition paused after fencing is owned afresh now.
    this.consumer?.resume([{ topic: this.options.topic, partitions: [...now] }]);
    this.assigned = now;
    this.log.info({ partitions: this.partitions }, 'partitions assigned');
  }

  private createWorker(partition: number): PartitionWorker {
    const { kafka, topic, groupId, transactionalIdPrefix, transactionTimeoutMs } = this.options;
    const log = this.log.child({ partition });
    return new PartitionWorker({
      topic,
      partition,
      groupId,
      handler: this.options.createHandler,
      producer: () =>
        createProducer(kafka, {
          transactionalId: transactionalIdFor(transactionalIdPrefix, topic, partition),
          idempotent: true,
          maxInFlightRequests: 1,
          transactionTimeout: transactionTimeoutMs,
        }),
      hooks: {
        seek: (offset) => this.consumer?.seek({ topic, partition, offset }),
        fetchCommitted: async () => {
          const [t] = await this.admin!.fetchOffsets({ groupId, topics: [topic] });
          const offset = t?.partitions.find((p) => p.partition === partition)?.offset;
          return offset === undefined || Number(offset) < 0 ? undefined : offset;
        },
        onFenced: (error) => {
          log.warn({ err: error }, 'producer fenced: another instance owns the partition now');
          this.consumer?.pause([{ topic, partitions: [partition] }]);
          // Normally the rebalance that moved the partition reaches us first; if we still own it
          // after a session timeout (e.g. the transaction had expired), start it afresh.
          const timer = setTimeout(() => {
            this.fenceTimers.delete(timer);
            if (this.stopped || !this.assigned.has(partition)) return;
            const w = this.workers.get(partition);
            if (w?.status !== 'fenced') return;
            this.workers.set(partition, this.createWorker(partition));
            this.consumer?.resume([{ topic, partitions: [partition] }]);
          }, this.options.sessionTimeoutMs ?? 30_000);
          this.fenceTimers.add(timer);
        },
        onTransaction: (result) => this.metrics?.transactions.inc({ result }),
        onError: (error, during) =>
          log.warn({ err: error, during }, 'transaction failed; records will be consumed again'),
      },
    });
  }
}
