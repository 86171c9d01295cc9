/**
 * Compressed batches through the real broker (libs/kafka/src/compression.ts). KafkaJS reads only gzip
 * by itself; an MTA producing snappy (franz-go's default), lz4 or zstd made every fetch of that
 * partition fail, so nothing behind it moved. Two directions, each codec:
 * - batches the broker compressed itself (the topic's `compression.type`): the Java libraries'
 *   snappy-java xerial framing, lz4-java frames and zstd-jni frames, which our codecs must read;
 * - batches KafkaJS compressed with our codecs: the broker decompresses each to validate it, so a
 *   wrong byte fails the produce (CORRUPT_MESSAGE) rather than the comparison.
 * Both come back record for record, across batches larger than snappy-java's 32 KiB block. And a
 * batch that would expand past the bound (a decompression bomb the broker accepts: it bounds the
 * compressed size) is refused loudly by a real service, which stays up.
 */
import { SecretBox } from '@hookpost/contracts';
import { createProducer, type Message, provisionTopics } from '@hookpost/kafka';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { type TestEnv, uniq, waitFor } from '../support/env.ts';
import { it, type Owner } from '../support/fixtures.ts';
import { metricsText, metricValue, spawnService } from '../support/services.ts';

let env: TestEnv;
it.beforeAll(async ({ env: e }) => {
  env = e;
});

const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const;
/** The codec ids of the Kafka protocol (a batch's attributes), which KafkaJS's `compression` takes. */
const TYPES = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;

/** Event-like values (compressible) and random bytes (not), some past 32 KiB. */
function messages(n: number, seed: number): Message[] {
  const value = fc.oneof(
    fc.json({ maxDepth: 3 }).map((j) => Buffer.from(j, 'utf8')),
    fc.uint8Array({ maxLength: 2_000 }).map((a) => Buffer.from(a)),
    fc.string({ minLength: 1, maxLength: 8 }).map((s) => Buffer.from(s.repeat(6_000), 'utf8')),
  );
  return fc.sample(value, { numRuns: n, seed }).map((v, i) => ({
    key: `dom-${i % 40}`,
    value: v,
    headers: { i: String(i) },
  }));
}

async function readBack(opened: Owner, topic: string, n: number): Promise<Map<number, Buffer | null>> {
  const seen = new Map<number, Buffer | null>();
  const consumer = opened.own(env.kafka.consumer({ groupId: uniq('g'), maxWaitTimeInMs: 100 }), (c) =>
    c.disconnect(),
  );
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message: m }) => void seen.set(Number(m.headers?.i?.toString()), m.value),
  });
  await waitFor(() => seen.size >= n, { what: `${n} records of ${topic}` });
  await consumer.disconnect();
  return seen;
}

async function roundTrip(opened: Owner, topic: string, codec: number | undefined, sent: Message[]) {
  const producer = opened.own(createProducer(env.kafka, { idempotent: true, maxInFlightRequests: 1 }), (p) =>
    p.disconnect(),
  );
  await producer.connect();
  for (let at = 0, size = 1; at < sent.length; at += size, size = Math.min(size * 4, 500))
    await producer.send({ topic, messages: sent.slice(at, at + size), compression: codec });
  const back = await readBack(opened, topic, sent.length);
  expect(back.size).toBe(sent.length);
  sent.forEach((m, i) => {
    expect(back.get(i)?.equals(m.value as Buffer)).toBe(true);
  });
}

describe('compressed batches', () => {
  for (const [n, name] of CODECS.entries()) {
    it(`${name}: batches the broker compressed (topic compression.type) are read record for record`, async ({
      opened,
    }) => {
      const topic = `${env.prefix}${uniq(`broker-${name}`)}`;
      await provisionTopics(env.admin, [
        { name: topic, partitions: 3, config: { 'compression.type': name }, doc: 'test' },
      ]);
      await roundTrip(opened, topic, undefined, messages(1_500, 10 + n));
    });

    it(`${name}: batches KafkaJS compressed pass the broker's check and are read back`, async ({
      opened,
    }) => {
      const topic = `${env.prefix}${uniq(`client-${name}`)}`;
      await provisionTopics(env.admin, [
        { name: topic, partitions: 3, config: { 'compression.type': 'producer' }, doc: 'test' },
      ]);
      await roundTrip(opened, topic, TYPES[name], messages(1_500, 20 + n));
    });
  }

  it('a batch expanding past 64 MiB: the fan-out logs the CompressionError, rebuilds its consumer, stays up', async () => {
    const t = env.catalog.topics;
    await provisionTopics(env.admin, [t.events, t.subscriptions, t.dispatch, t.dlq]);
    const fanout = spawnService('fanout', {
      TOPIC_PREFIX: env.prefix,
      TOPIC_PARTITIONS: '3',
      KAFKA_BROKERS: env.brokers,
      SCHEMA_REGISTRY_URL: env.registryUrl,
      SUBSCRIPTION_ENCRYPTION_KEYS: SecretBox.generateSpec(),
    });
    const producer = createProducer(env.kafka, { idempotent: true, maxInFlightRequests: 1 });
    try {
      await fanout.ready();
      await producer.connect();
      // 65 MiB of zeros is ~2 KiB of zstd: the broker takes it (its bound is on compressed bytes).
      await producer.send({
        topic: t.events.name,
        compression: TYPES.zstd,
        messages: [{ key: 'dom-bomb', value: Buffer.alloc(65 * 1024 * 1024) }],
      });
      await waitFor(
        () =>
          /CompressionError: zstd batch would decompress to more than 67108864 bytes/.test(fanout.output()) &&
          /rebuilding consumer/.test(fanout.output()),
        { what: 'the fan-out logging the refused batch and rebuilding its consumer', timeoutMs: 60_000 },
      );
      await waitFor(
        async () => metricValue(await metricsText(fanout), 'webhooks_consumer_rebuilds_total') >= 1,
        {
          what: 'a consumer rebuild counted',
        },
      );
      expect(fanout.child.exitCode).toBeNull();
    } finally {
      await producer.disconnect();
      await fanout.kill();
    }
  }, 120_000);
});
