import { randomUUID } from 'node:crypto';
import { type AttemptRecord, parseAttemptRecord } from '@hookpost/contracts';
import { type Kafka, type RecordSkipper, SupervisedConsumer } from '@hookpost/kafka';
import type { Logger } from '@hookpost/logger';
import type { HistoryStore } from './history-store.ts';

export interface HistoryFeedOptions {
  kafka: Kafka;
  topic: string;
  store: HistoryStore;
  logger: Logger;
  /** Invalid attempt records are skipped through it (counted, logged); their offsets still move on. */
  skipper: RecordSkipper;
  groupPrefix: string;
  retentionMs: number;
  now: () => number;
  pruneEveryMs?: number;
}

/**
 * Feeds webhooks.attempts into the history store. Every API instance keeps its own store, so it reads
 * every partition through a private group that never commits: the offsets live in the store, written
 * with the rows, and the consumer seeks to them once the partitions are assigned. Records fetched
 * before the seek lands are at or below the stored offset and are skipped (or would upsert the same
 * row), so a restart neither loses nor duplicates history.
 */
export async function startHistoryFeed(options: HistoryFeedOptions): Promise<{ stop: () => Promise<void> }> {
  const { store, topic } = options;
  const log = options.logger.child({ component: 'history', topic });
  const prune = () => {
    const removed = store.prune(options.now() - options.retentionMs);
    if (removed > 0) log.info({ removed }, 'pruned delivery history');
  };
  prune();
  const timer = setInterval(prune, options.pruneEveryMs ?? 60 * 60 * 1000);
  timer.unref();
  // Supervised: a crashed feed is rebuilt and seeks to the store's offsets as of the rebuild.
  const supervised = new SupervisedConsumer({
    kafka: options.kafka,
    name: 'api-history',
    logger: log,
    config: {
      groupId: `${options.groupPrefix}-history-${randomUUID()}`,
      maxWaitTimeInMs: 200,
      allowAutoTopicCreation: false,
    },
    setup: async (consumer) => {
      const stored = store.offsets(topic);
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        for (const partition of payload.memberAssignment[topic] ?? []) {
          const at = stored.get(partition);
          if (at !== undefined) consumer.seek({ topic, partition, offset: String(at + 1) });
        }
      });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch, heartbeat }) => {
          const floor = store.offsets(topic).get(batch.partition) ?? -1;
          const oldest = options.now() - options.retentionMs;
          const records: { offset: number; record: AttemptRecord }[] = [];
          for (const message of batch.messages) {
            const offset = Number(message.offset);
            if (offset <= floor) continue;
            const parsed = parseAttemptRecord(message.value);
            if (!parsed.ok) {
              const at = { topic, partition: batch.partition, offset: message.offset };
              options.skipper.skip(at, parsed.reason, parsed.error);
              continue;
            }
            if (parsed.value.at < oldest) continue;
            records.push({ offset, record: parsed.value });
          }
          const last = batch.messages.at(-1);
          if (last && Number(last.offset) > floor)
            store.apply(topic, batch.partition, Number(last.offset), records);
          await heartbeat();
        },
      });
    },
  });
  await supervised.start();
  return {
    stop: async () => {
      clearInterval(timer);
      await supervised.stop();
    },
  };
}
