import { randomUUID } from 'node:crypto';
import { type Kafka, type KafkaRecord, LogReader, lastOffsets } from '@hookpost/kafka';
import { createLogger, type Logger } from '@hookpost/logger';

export interface ReadToEndOptions {
  kafka: Kafka;
  topic: string;
  /** Prefix of the throw-away consumer group (it never commits). */
  groupPrefix?: string;
  timeoutMs?: number;
  onMessage: (message: KafkaRecord, partition: number) => void;
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
  let settle!: () => void;
  let fail!: (error: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  // A rebuilt (supervised) reader starts again from the beginning of the private group; LogReader
  // hands each record on once.
  const reader = new LogReader({
    kafka: options.kafka,
    name: 'read-to-end',
    logger: options.logger ?? createLogger({ name: 'read-to-end', level: 'warn' }),
    groupId: `${options.groupPrefix ?? 'hookpost'}-read-${randomUUID()}`,
    topics: [options.topic],
    onRecord: (_topic, partition, record) => {
      const target = targets.get(partition);
      // Records written after the call started are not part of this read.
      if (target === undefined || Number(record.offset) > target) return;
      options.onMessage(record, partition);
    },
    onProgress: (_topic, partition, offset) => {
      const target = targets.get(partition);
      if (target !== undefined && offset >= target) targets.delete(partition);
      if (targets.size === 0) settle();
    },
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
