/**
 * Composition root of the batcher: webhooks.dispatch (read committed) → webhooks.batches, grouped per
 * webhook (≤ max events, ≤ max bytes, ≤ its own window), exactly once: each input partition commits, in
 * its own transaction, whenever batches close, with emitted-offset watermarks so a replay skips what
 * already left. Not ready until the subscription table caught up.
 */
import { SecretBox } from '@hookpost/contracts';
import { readToEnd } from '@hookpost/deadletters';
import { provisionTopics, recordSkipper, TransactionalRunner, topicCatalog } from '@hookpost/kafka';
import { runService } from '@hookpost/service';
import { servingFromTable, startSubscriptionTable } from '@hookpost/subscriptions';
import { type BatcherConfig, schema } from './config.ts';
import { batcherHandler } from './handler.ts';
import { batcherMetrics } from './metrics.ts';

await runService<BatcherConfig>({
  name: 'batcher',
  schema,
  async start({ config, logger, kafka, admin, metrics, tracing }) {
    const prefix = config.topics.prefix;
    const catalog = topicCatalog({ prefix, partitions: config.topics.partitions });
    const { subscriptions, dispatch, batches, watermarks, dlq } = catalog.topics;
    await provisionTopics(admin, [subscriptions, dispatch, batches, watermarks, dlq], logger);

    const table = await startSubscriptionTable({
      kafka,
      topic: subscriptions.name,
      box: new SecretBox(config.subscriptions.encryptionKeys),
      logger,
      metrics,
      groupPrefix: `${prefix}hookpost-batcher`,
    });

    // Watermarks are read only at a partition's takeover; one that this batcher could not have written
    // is skipped, counted and logged (it can only cost duplicates, never a stalled partition).
    const watermarkSkipper = recordSkipper({
      logger: logger.child({ component: 'records' }),
      registry: metrics,
      topics: [watermarks.name],
      reasons: ['invalid'],
    });
    const runner = new TransactionalRunner({
      name: 'batcher',
      kafka,
      logger,
      metrics,
      groupId: `${prefix}${config.batcher.groupId}`,
      topic: dispatch.name,
      transactionalIdPrefix: config.batcher.transactionalIdPrefix,
      transactionTimeoutMs: config.batch.windowMs + config.batcher.transactionMarginMs,
      partitionsConsumedConcurrently: config.batcher.partitionsConcurrently,
      sessionTimeoutMs: config.batcher.sessionTimeoutMs,
      // 1 MiB is ~1 000 dispatch records (one per event, ~1 KB): enough to fill a 500-event batch in one
      // fetch. Fetched records wait in memory beside the open batches, so the total stays at 4 MiB.
      maxBytesPerPartition: 1024 * 1024,
      maxBytes: 4 * 1024 * 1024,
      createHandler: batcherHandler({
        webhook: (id) => table.get(id),
        settle: (id) => table.settle(id),
        topics: { batches: batches.name, dlq: dlq.name, watermarks: watermarks.name },
        readWatermarks: (partition, onRecord) =>
          readToEnd({
            kafka,
            topic: watermarks.name,
            partitions: [partition],
            groupPrefix: `${prefix}hookpost-batcher`,
            logger,
            onMessage: (m) => {
              if (!onRecord(m.key?.toString() ?? '', m.value === null ? null : m.value.toString()))
                watermarkSkipper.skip(
                  { topic: watermarks.name, partition, offset: m.offset },
                  'invalid',
                  'not <partition>/<webhook id> or <partition>#poison with a decimal offset',
                );
            },
          }),
        windowMs: config.batch.windowMs,
        maxBytes: config.batch.maxBytes,
        maxBufferedBytes: config.batch.maxBufferedBytes,
        clock: {
          now: Date.now,
          schedule: (fn, ms) => {
            const t = setTimeout(fn, ms);
            return () => clearTimeout(t);
          },
        },
        metrics: batcherMetrics(metrics),
        logger,
        tracing,
      }),
    });
    await runner.start();
    return servingFromTable(table, runner);
  },
});
