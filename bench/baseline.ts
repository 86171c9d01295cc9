/**
 * The raw Kafka baseline, measured in the same run as the pipeline so the ratios cancel out the
 * machine's drift: (1) a KafkaJS consumer that only decodes (AvroCodec) the pipeline's own input topic
 * from the beginning, (2) MtaProducer sending the same kind of events to a scratch topic.
 */
import { type AvroCodec, type EmailEvent, MtaProducer, type SchemaRegistry } from '@hookpost/events';
import { type Admin, type Kafka, readTopics } from '@hookpost/kafka';

export interface Rate {
  count: number;
  seconds: number;
  perSecond: number;
}

/**
 * Consumes the topic in passes (each a fresh group from the beginning) until `minSeconds` of consuming
 * have been measured: one pass over 100 000 records lasts half a second, too short to be stable.
 */
export async function rawConsume(
  kafka: Kafka,
  admin: Admin,
  topic: string,
  groupId: string,
  codec: AvroCodec<EmailEvent>,
  minSeconds = 5,
): Promise<Rate & { passes: number }> {
  let count = 0;
  let seconds = 0;
  let passes = 0;
  while (seconds < minSeconds && passes < 20) {
    const pass = await rawConsumeOnce(kafka, admin, topic, `${groupId}-${passes}`, codec);
    count += pass.count;
    seconds += pass.seconds;
    passes++;
  }
  return { count, seconds, perSecond: Math.round(count / seconds), passes };
}

/** Consumes `topic` up to the high watermarks read at the start, decoding every record. */
async function rawConsumeOnce(
  kafka: Kafka,
  admin: Admin,
  topic: string,
  groupId: string,
  codec: AvroCodec<EmailEvent>,
): Promise<Rate> {
  const offsets = await admin.fetchTopicOffsets(topic);
  const target = offsets.reduce((s, o) => s + Number(o.high) - Number(o.low), 0);
  let count = 0;
  let bad = 0;
  let first = 0;
  let last = 0;
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => (resolveDone = r));
  const consumer = await readTopics(kafka, {
    groupId,
    topics: [topic],
    // KafkaJS's default fetch wait: the raw baseline measures KafkaJS as it comes.
    maxWaitTimeInMs: 5000,
    eachBatch: async (batch) => {
      first ||= Date.now();
      for (const m of batch.messages) {
        const r = await codec.decode(m.value);
        if (!r.ok) bad++;
      }
      count += batch.messages.length;
      last = Date.now();
      if (count >= target) resolveDone();
    },
  });
  await done;
  await consumer.stop();
  if (bad > 0) throw new Error(`raw consume: ${bad} records did not decode`);
  const seconds = (last - first) / 1000;
  return { count, seconds, perSecond: Math.round(count / seconds) };
}

/** Sends `count` events (chunks of `chunk`, one send at a time as MtaProducer does) to `topic`. */
export async function rawProduce(
  kafka: Kafka,
  registry: SchemaRegistry,
  registryUrl: string,
  topic: string,
  count: number,
  next: () => EmailEvent,
  chunk: number,
): Promise<Rate> {
  const producer = new MtaProducer({ kafka, registry, registryUrl, topic });
  await producer.connect();
  const start = Date.now();
  for (let sent = 0; sent < count; sent += chunk)
    await producer.send(Array.from({ length: Math.min(chunk, count - sent) }, next));
  const seconds = (Date.now() - start) / 1000;
  await producer.close();
  return { count, seconds, perSecond: Math.round(count / seconds) };
}
