/**
 * Composition root of the batcher: webhooks.dispatch (read committed) → webhooks.batches, grouped per
 * webhook (≤ max events, ≤ max bytes, ≤ its own window), exactly once: each input partition commits, in
 * its own transaction, whenever batches close, with emitted-offset watermarks so a replay skips what
 * already left. Not ready until the subscription table caught up. With BATCHER_INPUT=events it also
 * reads email.events and matches each event itself (inputs.ts), so no fan-out runs; webhooks.dispatch
 * then carries only replayed `suspended` letters.
 */
import { SecretBox } from '@hookpost/contracts';
import { readToEnd } from '@hookpost/deadletters';
import { AvroCodec, createRegistry, type EmailEvent, emailEventSchema } from '@hookpost/events';
import { fanoutMetrics } from '@hookpost/fanout';
import {
  type Admin,
  provisionTopics,
  recordSkipper,
  TransactionalRunner,
  takeOverOffsets,
  topicCatalog,
} from '@hookpost/kafka';
import type { Registry } from '@hookpost/metrics';
import { runService } from '@hookpost/service';
import { type SubscriptionTable, servingFromTable, startSubscriptionTable } from '@hookpost/subscriptions';
import { type BatcherConfig, schema } from './config.ts';
import { batcherHandler } from './handler.ts';
import { eventReader, type ReaderContext } from './inputs.ts';
import { batcherMetrics } from './metrics.ts';

await runService<BatcherConfig>({
  name: 'batcher',
  schema,
  async start({ config, logger, kafka, admin, metrics, tracing }) {
    const prefix = config.topics.prefix;
    const catalog = topicCatalog({ prefix, partitions: config.topics.partitions });
    const events = config.batcher.input === 'events';
    const t = catalog.topics;
    const { subscriptions, batches, dlq } = t;
    // Each input with the watermarks of its partitions (an offset of one topic means nothing in another).
    // With BATCHER_INPUT=events, webhooks.dispatch is still read: replayed `suspended` letters go there.
    const inputs = [
      ...(events
        ? [{ name: 'batcher-events', topic: t.events, watermarks: t.eventWatermarks, group: '.events' }]
        : []),
      { name: 'batcher', topic: t.dispatch, watermarks: t.watermarks, group: '' },
    ];
    await provisionTopics(
      admin,
      [subscriptions, batches, dlq, ...inputs.flatMap((i) => [i.topic, i.watermarks])],
      logger,
    );
    for (const i of inputs) await watermarksCover(admin, i.topic.name, i.watermarks.name);
    if (events)
      // Replaces the fan-out (the two-stage deployment): refuses while it runs (every event would be
      // batched twice), and begins where it stopped, not at the start of email.events (days of events
      // again) nor at its end (those in between lost). Its dispatch records still on webhooks.dispatch
      // are batched by this process's dispatch loop.
      await takeOverOffsets(admin, {
        topic: t.events.name,
        from: `${prefix}${config.batcher.fanoutGroupId}`,
        to: `${prefix}${config.batcher.groupId}.events`,
        refusal:
          'the fan-out is running, and a batcher at BATCHER_INPUT=events batches every event itself: stop the fan-out first (or set BATCHER_INPUT=dispatch for the two-stage deployment)',
        log: logger,
      });

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
      topics: inputs.map((i) => i.watermarks.name),
      reasons: ['invalid'],
    });
    const counters = batcherMetrics(metrics);
    const runners = inputs.map(
      (i) =>
        new TransactionalRunner({
          name: i.name,
          kafka,
          logger,
          metrics,
          groupId: `${prefix}${config.batcher.groupId}${i.group}`,
          topic: i.topic.name,
          transactionalIdPrefix: config.batcher.transactionalIdPrefix,
          transactionTimeoutMs: config.batch.windowMs + config.batcher.transactionMarginMs,
          partitionsConsumedConcurrently: config.batcher.partitionsConcurrently,
          sessionTimeoutMs: config.batcher.sessionTimeoutMs,
          // Dispatch records: 1 MiB is ~1 000 (one per event, ~1 KB; ~3 500 events), enough to fill a
          // 500-event batch in one fetch. Events (~300 bytes): 256 KiB is ~900. Fetched records wait in
          // memory beside the open batches, so the total stays small.
          maxBytesPerPartition: i.topic === t.events ? 256 * 1024 : 1024 * 1024,
          maxBytes: i.topic === t.events ? 1024 * 1024 : 4 * 1024 * 1024,
          createHandler: batcherHandler({
            webhook: (id) => table.get(id),
            settle: (id) => table.settle(id),
            topics: { batches: batches.name, dlq: dlq.name, watermarks: i.watermarks.name },
            readWatermarks: (partition, onRecord) =>
              readToEnd({
                kafka,
                topic: i.watermarks.name,
                partitions: [partition],
                groupPrefix: `${prefix}hookpost-batcher`,
                logger,
                onMessage: (m) => {
                  if (!onRecord(m.key?.toString() ?? '', m.value === null ? null : m.value.toString()))
                    watermarkSkipper.skip(
                      { topic: i.watermarks.name, partition, offset: m.offset },
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
                const timer = setTimeout(fn, ms);
                return () => clearTimeout(timer);
              },
            },
            metrics: counters,
            logger,
            tracing,
            ...(i.topic === t.events && { input: eventInput(config, metrics, table) }),
          }),
        }),
    );
    for (const r of runners) await r.start();
    return servingFromTable(table, {
      get running() {
        return runners.every((r) => r.running);
      },
      stop: async () => {
        await Promise.all(runners.map((r) => r.stop()));
      },
    });
  },
});

/** BATCHER_INPUT=events: each event decoded and matched here, on the fan-out's counters. */
function eventInput(config: BatcherConfig, registry: Registry, table: SubscriptionTable) {
  const codec = new AvroCodec<EmailEvent>(createRegistry(config.registry.url), emailEventSchema());
  const counters = fanoutMetrics(registry);
  return (context: ReaderContext) =>
    eventReader(
      {
        decode: (buffer) => codec.decode(buffer),
        match: (domain, type) => table.forEvent(domain, type),
        now: Date.now,
        fanoutMetrics: counters,
      },
      context,
    );
}

/**
 * The watermarks of input partition p go to partition p of their topic: an input topic with more
 * partitions than that (an events topic the MTA team made, partitions added to one) would fail every
 * commit of the partitions past it, so the batcher refuses to start and says what to do.
 */
async function watermarksCover(admin: Admin, input: string, watermarks: string): Promise<void> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [input, watermarks] });
  const count = (name: string) => topics.find((x) => x.name === name)?.partitions.length ?? 0;
  if (count(input) > count(watermarks))
    throw new Error(
      `${input} has ${count(input)} partitions and ${watermarks} ${count(watermarks)}: the batcher writes input partition p's watermarks to partition p; add partitions to ${watermarks} (kafka-topics --alter --partitions ${count(input)})`,
    );
}
