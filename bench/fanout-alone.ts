/**
 * The fan-out stage alone, on the throughput phase's own input: the raw baseline consumes that topic
 * with nothing else running, so the stage is compared with it the same way. A copy of the input topic
 * (the same record bytes) and of the phase's webhooks go to topics of their own (a prefix under the
 * run's). Then each pass starts one fan-out process on them with the pipeline's settings and a group
 * of its own (so it reads the copy from the start) while the other services idle; its rate counts
 * from its first consumed event to its last (its own counter, scraped every 50 ms), with its CPU and
 * peak RSS from /proc. The dispatch records each pass writes must match the phase's (same webhooks,
 * same events), or the measure is refused. The run interleaves the passes with the raw consume's, so
 * a burst of the machine's load falls on both (bench/run.ts).
 */
import type { Webhook } from '@hookpost/contracts';
import {
  type Admin,
  type Kafka,
  provisionTopics,
  readTopics,
  serialProducer,
  topicCatalog,
} from '@hookpost/kafka';
import type { SubscriptionWriter } from '@hookpost/subscriptions';
import { type Service, startService, sum } from './procs.ts';

export interface FanoutAlone {
  events: number;
  dispatched: number;
  seconds: number;
  eventsPerSecond: number;
  cpuMicrosPerEvent: number;
  peakRssMiB: number;
  /** Passes summed (result() of a run; one pass otherwise). */
  passes?: number;
}

export interface FanoutAloneOptions {
  kafka: Kafka;
  admin: Admin;
  /** The run's topic prefix; the copy lives under `<prefix>alone.`. */
  prefix: string;
  partitions: number;
  sourceTopic: string;
  webhooks: Webhook[];
  writer: (topic: string) => SubscriptionWriter;
  /** The environment the pipeline's services run with (its TOPIC_PREFIX is replaced). */
  env: Record<string, string>;
  /** The phase's dispatch records, which the copy must reproduce. */
  expectDispatched: number;
  logDir: string;
  log: (line: string) => void;
  nodeArgs?: string[];
}

/** The copy made, passes of the fan-out over it, and their sum. */
export interface FanoutAloneRun {
  pass(): Promise<FanoutAlone>;
  result(): FanoutAlone;
}

export async function prepareFanoutAlone(o: FanoutAloneOptions): Promise<FanoutAloneRun> {
  const prefix = `${o.prefix}alone.`;
  const catalog = topicCatalog({ prefix, partitions: o.partitions });
  await provisionTopics(o.admin, catalog.all());

  const writer = o.writer(catalog.topics.subscriptions.name);
  await writer.connect();
  for (const webhook of o.webhooks) await writer.put(webhook);
  await writer.close();

  // The same records, key, value and headers, in the same partitions.
  const offsets = await o.admin.fetchTopicOffsets(o.sourceTopic);
  const events = offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  const producer = serialProducer(o.kafka);
  await producer.producer.connect();
  let copied = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((r) => (done = r));
  const reader = await readTopics(o.kafka, {
    groupId: `${prefix}copy`,
    topics: [o.sourceTopic],
    maxBytesPerPartition: 8 << 20,
    eachBatch: async (batch) => {
      await producer.sendBatch([
        {
          topic: catalog.topics.events.name,
          messages: batch.messages.map((m) => ({
            key: m.key,
            value: m.value,
            headers: m.headers,
            partition: batch.partition,
          })),
        },
      ]);
      copied += batch.messages.length;
      if (copied >= events) done();
    },
  });
  await all;
  await reader.stop();
  await producer.disconnect();
  o.log(`  fan-out alone: ${copied} events and ${o.webhooks.length} webhooks copied under ${prefix}`);

  const passes: FanoutAlone[] = [];
  return {
    pass: async () => {
      const n = passes.length;
      const pass = await fanoutPass(o, prefix, events, n, n === 0 ? (o.nodeArgs ?? []) : []);
      passes.push(pass);
      return pass;
    },
    result: () => {
      const seconds = passes.reduce((t, p) => t + p.seconds, 0);
      const total = passes.reduce((t, p) => t + p.events, 0);
      return {
        events: total,
        dispatched: passes.reduce((t, p) => t + p.dispatched, 0),
        seconds,
        eventsPerSecond: Math.round(total / seconds),
        cpuMicrosPerEvent: passes.reduce((t, p) => t + p.cpuMicrosPerEvent * p.events, 0) / total,
        peakRssMiB: Math.max(...passes.map((p) => p.peakRssMiB)),
        passes: passes.length,
      };
    },
  };
}

/** One fan-out process over the copy, in a group of its own (`n`), until it has consumed all of it. */
async function fanoutPass(
  o: FanoutAloneOptions,
  prefix: string,
  events: number,
  n: number,
  nodeArgs: string[],
): Promise<FanoutAlone> {
  const service: Service = await startService(
    {
      name: `fanout-alone-${n}`,
      entry: 'services/fanout/src/main.ts',
      env: { ...o.env, TOPIC_PREFIX: prefix, FANOUT_GROUP_ID: `fanout-alone-${n}` },
      nodeArgs,
    },
    o.logDir,
    () => {},
  );
  try {
    await service.ready(120_000);
    const cpuBefore = service.stats().cpuSeconds;
    let first = 0;
    let last = 0;
    let consumed = 0;
    const deadline = Date.now() + 600_000;
    while (consumed < events) {
      if (Date.now() > deadline) throw new Error(`fan-out alone stuck at ${consumed}/${events}`);
      await new Promise((r) => setTimeout(r, 50));
      consumed = sum(await service.scrape(), 'webhooks_fanout_events_consumed_total');
      if (consumed > 0) first ||= Date.now();
      last = Date.now();
    }
    const stats = service.stats();
    const dispatched = sum(await service.scrape(), 'webhooks_fanout_dispatched_total');
    if (dispatched !== o.expectDispatched)
      throw new Error(
        `fan-out alone dispatched ${dispatched}, the phase ${o.expectDispatched}: not the same work`,
      );
    const seconds = (last - first) / 1000;
    return {
      events,
      dispatched,
      seconds,
      eventsPerSecond: Math.round(events / seconds),
      cpuMicrosPerEvent: ((stats.cpuSeconds - cpuBefore) * 1e6) / events,
      peakRssMiB: stats.peakRssMiB,
    };
  } finally {
    await service.stop();
  }
}
