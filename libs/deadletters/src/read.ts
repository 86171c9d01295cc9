import { randomUUID } from 'node:crypto';
import {
  type Consumer,
  type Kafka,
  type KafkaMessage,
  lastOffsets,
  SupervisedConsumer,
} from '@hookpost/kafka';
import { createLogger, type Logger } from '@hookpost/logger';

export interface ReadToEndOptions {
  kafka: Kafka;
  topic: string;
  /** Prefix of the throw-away consumer group (it never commits). */
  groupPrefix?: string;
  timeoutMs?: number;
  onMessage: (message: KafkaMessage, partition: number) => void;
  /** Only these partitions (the others are neither awaited nor handed on); all when absent. */
  partitions?: readonly number[];
  /** Where a crashed reader's rebuild is logged; a quiet default when the caller has none. */
  logger?: Logger;
}

/**
 * Reads a topic from its start up to its end as of the call, then stops. The end is the high watermark
 * seen first; the last offsets of a transactional topic are commit markers that never reach eachBatch,
 * so progress is taken from KafkaJS's end-of-batch instrumentation, which also reports batches that
 * held only control records (but not from empty fetches, see below). Reads committed data only. Uses a private group that never commits, so
 * every reader sees every partition.
 */
export async function readToEnd(options: ReadToEndOptions): Promise<void> {
  const all = await lastOffsets(options.kafka, options.topic, { timeoutMs: 10_000 });
  const only = options.partitions;
  const targets = only ? new Map([...all].filter(([p]) => only.includes(p))) : all;
  if (targets.size === 0) return;
  let timer: NodeJS.Timeout | undefined;
  // Offsets already handed to onMessage: a rebuilt (supervised) reader starts again from the beginning
  // of the private group, and must not hand the same record twice.
  const delivered = new Map<number, number>();
  let settle!: () => void;
  let fail!: (error: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  const setup = async (consumer: Consumer): Promise<void> => {
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      // KafkaJS reports an empty fetch's lastOffset as highWatermark - 1. Reading committed, a fetch
      // is empty while a transaction that just committed still waits for its marker (the LSO lags the
      // high watermark), so that figure would claim records never read: the ledger of a replay that
      // finished a moment ago looked empty and the next replay ran again. Only batches that held
      // records (data or control) say how far the read got.
      if (payload.firstOffset === null || payload.firstOffset === undefined) return;
      const target = targets.get(payload.partition);
      if (target !== undefined && Number(payload.lastOffset) >= target) targets.delete(payload.partition);
      if (targets.size === 0) settle();
    });
    await consumer.connect();
    await consumer.subscribe({ topic: options.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const target = targets.get(batch.partition);
        for (const message of batch.messages) {
          const offset = Number(message.offset);
          // Records written after the call started are not part of this read.
          if (target === undefined || offset > target) continue;
          if (offset <= (delivered.get(batch.partition) ?? -1)) continue;
          delivered.set(batch.partition, offset);
          options.onMessage(message, batch.partition);
        }
      },
    });
  };
  const reader = new SupervisedConsumer({
    kafka: options.kafka,
    name: 'read-to-end',
    logger: options.logger ?? createLogger({ name: 'read-to-end', level: 'warn' }),
    config: {
      groupId: `${options.groupPrefix ?? 'hookpost'}-read-${randomUUID()}`,
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: false,
    },
    setup,
  });
  try {
    timer = setTimeout(
      () =>
        fail(new Error(`reading ${options.topic} did not finish within ${options.timeoutMs ?? 60_000} ms`)),
      options.timeoutMs ?? 60_000,
    );
    await reader.start();
    await done;
  } finally {
    clearTimeout(timer);
    await reader.stop();
  }
}
