/**
 * Composition root of the fan-out: email.events (Avro) → matched, rendered dispatch records on
 * webhooks.dispatch (keyed by domain id), batches of one event on webhooks.batches for webhooks at
 * max_events 1 (keyed by webhook id), suspended and poison records on webhooks.dlq, exactly once
 * per input partition through Kafka transactions. Not ready until the subscription table caught up.
 */
import { SecretBox } from '@hookpost/contracts';
import { readToEnd } from '@hookpost/deadletters';
import { AvroCodec, createRegistry, type EmailEvent, emailEventSchema } from '@hookpost/events';
import { provisionTopics, TransactionalRunner, takeOverOffsets, topicCatalog } from '@hookpost/kafka';
import { runService } from '@hookpost/service';
import { servingFromTable, startSubscriptionTable } from '@hookpost/subscriptions';
import { type FanoutConfig, schema } from './config.ts';
import { fanoutHandler } from './handler.ts';
import { fanoutMetrics } from './metrics.ts';

await runService<FanoutConfig>({
  name: 'fanout',
  schema,
  async start({ config, logger, kafka, admin, metrics, tracing }) {
    const prefix = config.topics.prefix;
    const catalog = topicCatalog({ prefix, partitions: config.topics.partitions });
    const { events, subscriptions, dispatch, batches, dlq, eventWatermarks } = catalog.topics;
    await provisionTopics(admin, [events, subscriptions, dispatch, batches, dlq, eventWatermarks], logger);
    // The batchers at BATCHER_INPUT=events (the default) match and batch every event themselves:
    // refuse while they run, and begin where they stopped (switching back to the two-stage deployment).
    await takeOverOffsets(admin, {
      topic: events.name,
      from: `${prefix}${config.fanout.batcherEventsGroupId}`,
      to: `${prefix}${config.fanout.groupId}`,
      refusal:
        'batchers at BATCHER_INPUT=events (their default) are running, and they batch every event themselves: set BATCHER_INPUT=dispatch on every batcher and roll them before starting the fan-out',
      log: logger,
    });

    const table = await startSubscriptionTable({
      kafka,
      topic: subscriptions.name,
      box: new SecretBox(config.subscriptions.encryptionKeys),
      logger,
      metrics,
      groupPrefix: `${prefix}hookpost-fanout`,
    });

    const codec = new AvroCodec<EmailEvent>(createRegistry(config.registry.url), emailEventSchema());
    const runner = new TransactionalRunner({
      name: 'fanout',
      kafka,
      logger,
      metrics,
      groupId: `${prefix}${config.fanout.groupId}`,
      topic: events.name,
      transactionalIdPrefix: config.fanout.transactionalIdPrefix,
      transactionTimeoutMs: config.fanout.transactionTimeoutMs,
      partitionsConsumedConcurrently: config.fanout.partitionsConcurrently,
      sessionTimeoutMs: config.fanout.sessionTimeoutMs,
      // Events are ~300 bytes: 2 MiB is ~7 000 per fetch. The 8 MiB default held ~50 MiB more at peak
      // (bench tp phase, peak RSS 304 -> 256 MiB) for no throughput.
      maxBytes: 2 * 1024 * 1024,
      maxBytesPerPartition: 512 * 1024,
      createHandler: fanoutHandler(
        {
          decode: (buffer) => codec.decode(buffer),
          match: (domain, type) => table.forEvent(domain, type),
          topics: {
            dispatch: dispatch.name,
            dlq: dlq.name,
            ...(config.fanout.singleBatches && { batches: batches.name }),
          },
          now: Date.now,
          tracing,
        },
        fanoutMetrics(metrics),
        logger,
        // A batcher that read the events before this fan-out (BATCHER_INPUT=events) sent some records
        // past its committed offset already: its watermarks say which, per webhook.
        (partition, onRecord) =>
          readToEnd({
            kafka,
            topic: eventWatermarks.name,
            partitions: [partition],
            groupPrefix: `${prefix}hookpost-fanout`,
            logger,
            onMessage: (m) => onRecord(m.key?.toString() ?? '', m.value === null ? null : m.value.toString()),
          }),
      ),
    });
    await runner.start();
    return servingFromTable(table, runner);
  },
});
