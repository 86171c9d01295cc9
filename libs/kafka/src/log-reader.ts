/**
 * The one long-lived, supervised reader of whole topics outside the partition consumers, so that the
 * code that keeps state from a topic never handles a KafkaJS consumer itself. Two modes:
 *
 * - `log` (with `groupId`): a private group that never commits, so every instance reads every partition
 *   from its start (the subscription table, the API's dead-letter index, readToEnd). A rebuilt reader
 *   reads again from the start; each record is handed over once. Progress is reported from KafkaJS's
 *   end-of-batch instrumentation, which also counts batches that held only transaction markers (they
 *   never reach eachBatch) but not empty fetches, whose figure is the high watermark − 1: reading
 *   committed, a fetch is empty while a just-committed transaction still waits for its marker, so that
 *   figure would claim records not read yet.
 * - `group` (with `group`): a shared group that commits what it handled (the suspender). Records are handled one at a
 *   time, each resolved after its handler settles; resolving through eachBatch also passes a marker
 *   after the last record (with eachMessage a group's offset stayed on the marker that ends each
 *   transaction, and its lag never read 0).
 */
import type { Logger } from '@hookpost/logger';
import type { Consumer, IHeaders, Kafka } from 'kafkajs';
import { IDLE_FETCH_WAIT_MS } from './definitions.ts';
import { type GroupMemberSettings, memberConfig, SupervisedConsumer } from './supervised-consumer.ts';

/** A record as readers of a topic see it (the fields the project reads; KafkaJS's messages fit it). */
export interface KafkaRecord {
  key: Buffer | null;
  value: Buffer | null;
  offset: string;
  timestamp: string;
  headers?: IHeaders;
}

export interface LogReaderOptions {
  kafka: Kafka;
  /** A fixed, bounded name (metric label of the supervised consumer). */
  name: string;
  logger: Logger;
  /** `log` mode: a private group id, never committed. */
  groupId?: string;
  /** `group` mode: the shared group that commits, and its member settings. */
  group?: GroupMemberSettings;
  topics: string[];
  /** Each record once, in partition order; `group` mode waits for it before resolving the record. */
  onRecord(topic: string, partition: number, record: KafkaRecord): void | Promise<void>;
  /** `log` mode: the read reached `offset` on a partition (records and markers). */
  onProgress?(topic: string, partition: number, offset: number): void;
}

export class LogReader {
  private readonly o: LogReaderOptions;
  private readonly consumer: SupervisedConsumer;
  /** `log` mode: highest offset handed over per `topic:partition`, across rebuilds. */
  private readonly position = new Map<string, number>();
  private builds = 0;

  constructor(options: LogReaderOptions) {
    this.o = options;
    this.consumer = new SupervisedConsumer({
      kafka: options.kafka,
      name: options.name,
      logger: options.logger,
      // A private group gets a fresh id on every build: it never commits, so a rebuilt reader loses
      // nothing by it, and it does not wait for the crashed build's member to time out. With one id
      // across rebuilds the subscription table stayed down ~20 s after a broker restart (KafkaJS's
      // 30 s session timeout) while every work consumer was back within seconds.
      config: options.group
        ? memberConfig(options.group)
        : () => ({
            groupId: `${options.groupId!}-${++this.builds}`,
            maxWaitTimeInMs: IDLE_FETCH_WAIT_MS,
            allowAutoTopicCreation: false,
          }),
      setup: (c) => (options.group ? this.setupGroup(c) : this.setupLog(c)),
    });
  }

  /** Whether its consumer runs now (false while a crashed one is rebuilt). */
  get running(): boolean {
    return this.consumer.running;
  }

  /** First build; rejects if it fails. */
  start(): Promise<void> {
    return this.consumer.start();
  }

  stop(): Promise<void> {
    return this.consumer.stop();
  }

  private async setupLog(consumer: Consumer): Promise<void> {
    const { onRecord, onProgress } = this.o;
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.firstOffset === null || payload.firstOffset === undefined) return;
      onProgress?.(payload.topic, payload.partition, Number(payload.lastOffset));
    });
    await consumer.connect();
    await consumer.subscribe({ topics: this.o.topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat }) => {
        const key = `${batch.topic}:${batch.partition}`;
        for (const message of batch.messages) {
          const offset = Number(message.offset);
          if (offset <= (this.position.get(key) ?? -1)) continue;
          this.position.set(key, offset);
          await onRecord(batch.topic, batch.partition, message);
        }
        await heartbeat();
      },
    });
  }

  private async setupGroup(consumer: Consumer): Promise<void> {
    await consumer.connect();
    await consumer.subscribe({ topics: this.o.topics, fromBeginning: true });
    await consumer.run({
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        for (const message of batch.messages) {
          if (!isRunning() || isStale()) return;
          await this.o.onRecord(batch.topic, batch.partition, message);
          resolveOffset(message.offset);
          await heartbeat();
        }
      },
    });
  }
}
