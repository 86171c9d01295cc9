/**
 * A plain reader of one or more topics for tools, demos, benches and tests: a consumer of its own group
 * that hands every record to `eachMessage` (or every batch to `eachBatch`) until stopped. Not for
 * services' own input (those use SupervisedConsumer, PartitionWorker or PartitionConsumer): it is not
 * supervised and commits only as KafkaJS does by default.
 */
import type { EachBatchPayload, Kafka } from 'kafkajs';
import type { KafkaRecord } from './log-reader.ts';

interface ReadRecord {
  topic: string;
  partition: number;
  message: KafkaRecord;
}

export interface TopicReaderOptions {
  groupId: string;
  topics: string[];
  /** Default true: read from each partition's start (a group with no committed offsets). */
  fromBeginning?: boolean;
  /** Default false: read committed data only. */
  readUncommitted?: boolean;
  maxWaitTimeInMs?: number;
  maxBytesPerPartition?: number;
  /** Default true; false: never commit (every reader of the group starts where fromBeginning says). */
  autoCommit?: boolean;
  eachMessage?: (record: ReadRecord) => Promise<void> | void;
  eachBatch?: (batch: EachBatchPayload['batch']) => Promise<void> | void;
}

export interface TopicReader {
  /** Resolves at the reader's first group join (its partitions are assigned). */
  readonly joined: Promise<void>;
  stop(): Promise<void>;
}

export async function readTopics(kafka: Kafka, options: TopicReaderOptions): Promise<TopicReader> {
  const consumer = kafka.consumer({
    groupId: options.groupId,
    maxWaitTimeInMs: options.maxWaitTimeInMs ?? 100,
    readUncommitted: options.readUncommitted ?? false,
    ...(options.maxBytesPerPartition ? { maxBytesPerPartition: options.maxBytesPerPartition } : {}),
  });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.connect();
  await consumer.subscribe({ topics: options.topics, fromBeginning: options.fromBeginning ?? true });
  const { eachMessage, eachBatch } = options;
  await consumer.run({
    autoCommit: options.autoCommit ?? true,
    ...(eachBatch
      ? { eachBatch: async ({ batch }) => eachBatch(batch) }
      : {
          eachMessage: async ({ topic, partition, message }) => eachMessage?.({ topic, partition, message }),
        }),
  });
  return { joined, stop: () => consumer.disconnect() };
}
