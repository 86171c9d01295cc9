/**
 * Composition root of the demo producer: what an MTA does (Avro events to email.events through the
 * registry), plus a tail consumer that decodes them again and prints what flows, so a newcomer sees the
 * real broker and registry at work. Config: the common keys plus DEMO_RATE, DEMO_COUNT, DEMO_DOMAINS.
 */
import { AvroCodec, createRegistry, type EmailEvent, emailEventSchema, MtaProducer } from '@hookpost/events';
import { provisionTopics, readTopics, topicCatalog } from '@hookpost/kafka';
import { eventGenerator, runLoad } from '@hookpost/loadgen';
import { Counter } from '@hookpost/metrics';
import { runService } from '@hookpost/service';
import { schema } from './config.ts';

await runService({
  name: 'demo',
  schema,
  async start({ config, logger, kafka, admin, metrics, signal }) {
    const catalog = topicCatalog({ prefix: config.topics.prefix, partitions: config.topics.partitions });
    const topic = catalog.topics.events.name;
    await provisionTopics(admin, [catalog.topics.events], logger);
    const registry = createRegistry(config.registry.url);
    const producer = new MtaProducer({ kafka, registry, registryUrl: config.registry.url, topic });
    await producer.connect();

    const produced = new Counter({
      name: 'webhooks_demo_events_produced_total',
      help: 'Demo events produced',
      registers: [metrics],
    });
    const consumedC = new Counter({
      name: 'webhooks_demo_events_consumed_total',
      help: 'Demo events read back',
      registers: [metrics],
    });
    const codec = new AvroCodec<EmailEvent>(registry, emailEventSchema());
    const byType = new Map<string, number>();
    let consumed = 0;
    let latencySum = 0;
    const consumer = await readTopics(kafka, {
      groupId: `${config.topics.prefix}hookpost-demo-tail`,
      topics: [topic],
      fromBeginning: false,
      maxWaitTimeInMs: 200,
      eachBatch: async (batch) => {
        const now = Date.now();
        for (const message of batch.messages) {
          const r = await codec.decode(message.value);
          if (!r.ok) {
            logger.warn(
              { reason: r.reason, offset: message.offset },
              'undecodable record in the events topic',
            );
            continue;
          }
          consumed += 1;
          latencySum += now - r.value.created_at;
          byType.set(r.value.type, (byType.get(r.value.type) ?? 0) + 1);
        }
        consumedC.inc(batch.messages.length);
      },
    });
    await consumer.joined;

    let sent = 0;
    let lastReport = 0;
    const report = setInterval(() => {
      const types = [...byType.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 4)
        .map(([t, n]) => `${t}=${n}`)
        .join(' ');
      const avg = consumed - lastReport > 0 ? Math.round(latencySum / consumed) : 0;
      console.log(`demo: produced ${sent}, read back ${consumed} (avg ${avg} ms produce→read) ${types}`);
      lastReport = consumed;
    }, config.demo.reportEveryMs);

    console.log(
      `demo: producing ${config.demo.count || 'unlimited'} events at ${config.demo.rate || 'max'}/s to ${topic} over ${config.demo.domains} domains`,
    );
    const load = runLoad({
      next: eventGenerator({ domains: config.demo.domains, seed: Date.now() }),
      send: async (events) => {
        await producer.send(events);
        produced.inc(events.length);
      },
      count: config.demo.count || Number.POSITIVE_INFINITY,
      rate: config.demo.rate,
      batchSize: Math.max(1, Math.min(500, Math.ceil(config.demo.rate / 10) || 500)),
      signal,
      onProgress: (n) => {
        sent = n;
      },
    }).catch((error: unknown) => logger.error({ err: error }, 'demo load failed'));

    return {
      ready: () => true,
      stop: async () => {
        await load;
        clearInterval(report);
        await consumer.stop();
        await producer.close();
      },
    };
  },
});
