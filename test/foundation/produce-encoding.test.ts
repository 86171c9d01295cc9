/**
 * Our produce encoding (libs/kafka/src/kafkajs-encode.ts) against the broker: records of every shape,
 * produced idempotently and in transactions, come back as they were sent. The broker checks each
 * batch's CRC and record layout, so a wrong byte fails the produce rather than the comparison. Each
 * answered request's frame is freed at once (releaseBytes): the records still come back whole.
 */
import { createProducer, type Message, provisionTopics, releasedFrames } from '@hookpost/kafka';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { type TestEnv, uniq, waitFor } from '../support/env.ts';
import { it, type Owner } from '../support/fixtures.ts';

let env: TestEnv;
it.beforeAll(async ({ env: e }) => {
  env = e;
});

const bytesOf = (v: Buffer | string | null | undefined) =>
  v == null ? null : Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8');
const text = fc.string({ unit: 'binary', maxLength: 200 });
const payload = (max: number) =>
  fc.oneof(
    text,
    fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a)),
  );
const message: fc.Arbitrary<Message> = fc.record({
  key: fc.oneof(fc.constant(null), payload(100)),
  // Across the 512-byte first buffer KafkaJS used to regrow, up to 30 000 bytes.
  value: fc.oneof(
    fc.constant(null),
    payload(600),
    fc.uint8Array({ maxLength: 30_000 }).map((a) => Buffer.from(a)),
  ),
  headers: fc.dictionary(
    fc.string({ minLength: 1, maxLength: 10 }).map((k) => `h-${k}`),
    payload(40),
    { maxKeys: 3 },
  ),
  // Timestamps spread over two years up to now (Kafka refuses ones an hour ahead), so a batch's deltas
  // leave the int32 range.
  timestamp: fc.integer({ min: Date.now() - 2 ** 36, max: Date.now() }).map(String),
});

async function readBack(opened: Owner, topic: string, n: number) {
  const seen = new Map<
    number,
    { key: Buffer | null; value: Buffer | null; headers: object; timestamp: string }
  >();
  const consumer = opened.own(env.kafka.consumer({ groupId: uniq('g'), maxWaitTimeInMs: 100 }), (c) =>
    c.disconnect(),
  );
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message: m }) => {
      const at = Number(m.headers?.i?.toString());
      seen.set(at, { key: m.key, value: m.value, headers: m.headers ?? {}, timestamp: m.timestamp });
    },
  });
  await waitFor(() => seen.size >= n, { what: `${n} records of ${topic}` });
  await consumer.disconnect();
  return seen;
}

describe('produce encoding against the broker', () => {
  it('3 000 generated records, idempotent and transactional, come back byte for byte', async ({ opened }) => {
    const topic = `${env.prefix}encoding`;
    await provisionTopics(env.admin, [{ name: topic, partitions: 3, config: {}, doc: 'test' }]);
    const sent = fc.sample(message, { numRuns: 3_000, seed: 42 }).map((m, i) => ({
      ...m,
      headers: { ...m.headers, i: String(i) },
    }));
    const idempotent = opened.own(
      createProducer(env.kafka, { idempotent: true, maxInFlightRequests: 1 }),
      (p) => p.disconnect(),
    );
    const transactional = opened.own(
      createProducer(env.kafka, { transactionalId: uniq('enc'), idempotent: true, maxInFlightRequests: 1 }),
      (p) => p.disconnect(),
    );
    await idempotent.connect();
    await transactional.connect();
    // Sends of 1, 2 and up to 700 records (one batch per partition each), half of them in transactions.
    let sends = 0;
    const released = releasedFrames.count;
    for (let at = 0, size = 1; at < sent.length; at += size, size = Math.min(size * 3, 700)) {
      const messages = sent.slice(at, at + size);
      if (sends++ % 2 === 0) await idempotent.send({ topic, messages });
      else {
        const tx = await transactional.transaction();
        await tx.send({ topic, messages });
        await tx.commit();
      }
    }
    // Every request of 4 KiB or more (all but the first few sends' and the transactions' control
    // requests) had its frame freed as soon as the broker answered it.
    expect(releasedFrames.count - released).toBeGreaterThanOrEqual(sends - 4);
    const back = await readBack(opened, topic, sent.length);
    expect(back.size).toBe(sent.length);
    sent.forEach((m, i) => {
      const got = back.get(i)!;
      expect(got.key).toEqual(bytesOf(m.key));
      expect(got.value).toEqual(bytesOf(m.value));
      expect(got.timestamp).toBe(m.timestamp);
      const headers = Object.fromEntries(
        Object.entries(m.headers!).map(([k, v]) => [k, bytesOf(v as string)]),
      );
      expect(got.headers).toEqual(headers);
    });
  });
});
