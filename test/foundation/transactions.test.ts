import { createProducer, provisionTopics } from '@hookpost/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestEnv, testEnv, uniq, waitFor } from '../support/env.ts';

let env: TestEnv;
let topic: string;
beforeAll(async () => {
  env = await testEnv();
  topic = `${env.prefix}tx`;
  await provisionTopics(env.admin, [
    { name: topic, partitions: 1, config: {}, doc: 'test' },
    { name: `${topic}.in`, partitions: 1, config: {}, doc: 'test' },
  ]);
});
afterAll(async () => env?.close());

async function readValues(t: string, readUncommitted: boolean, until: (v: string[]) => boolean) {
  const seen: string[] = [];
  const consumer = env.kafka.consumer({ groupId: uniq('g'), readUncommitted, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: t, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
  await waitFor(() => until(seen), { what: `records of ${t}` });
  await consumer.disconnect();
  return seen;
}

describe('Kafka transactions with KafkaJS against Kafka 4', () => {
  it('read_committed consumers see committed transactions and never aborted ones', async () => {
    const producer = createProducer(env.kafka, {
      transactionalId: uniq('tx'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    const t1 = await producer.transaction();
    await t1.send({ topic, messages: [{ value: 'committed-1' }, { value: 'committed-2' }] });
    await t1.commit();
    const t2 = await producer.transaction();
    await t2.send({ topic, messages: [{ value: 'aborted' }] });
    await t2.abort();
    const t3 = await producer.transaction();
    await t3.send({ topic, messages: [{ value: 'committed-3' }] });
    await t3.commit();
    await producer.disconnect();

    // The last committed record is the marker that everything before it has been read.
    const committed = await readValues(topic, false, (v) => v.includes('committed-3'));
    expect(committed).toEqual(['committed-1', 'committed-2', 'committed-3']);
    const uncommitted = await readValues(topic, true, (v) => v.includes('committed-3'));
    expect(uncommitted).toEqual(['committed-1', 'committed-2', 'aborted', 'committed-3']);
  });

  it('consumed offsets sent in a transaction are committed with it, and not when it aborts', async () => {
    const groupId = uniq('g');
    const input = `${topic}.in`;
    const producer = createProducer(env.kafka, {
      transactionalId: uniq('tx'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();

    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ value: 'from-aborted' }] });
    await aborted.sendOffsets({
      consumerGroupId: groupId,
      topics: [{ topic: input, partitions: [{ partition: 0, offset: '5' }] }],
    });
    await aborted.abort();
    const afterAbort = await env.admin.fetchOffsets({ groupId, topics: [input] });
    expect(afterAbort[0]?.partitions[0]?.offset).toBe('-1');

    const tx = await producer.transaction();
    await tx.send({ topic, messages: [{ value: 'from-committed' }] });
    await tx.sendOffsets({
      consumerGroupId: groupId,
      topics: [{ topic: input, partitions: [{ partition: 0, offset: '7' }] }],
    });
    await tx.commit();
    await producer.disconnect();
    // commit() returns once the coordinator decided; the offset becomes readable when the commit
    // marker reaches __consumer_offsets, a moment later.
    const committed = async () =>
      (await env.admin.fetchOffsets({ groupId, topics: [input] }))[0]?.partitions[0]?.offset;
    await waitFor(async () => (await committed()) !== '-1', { what: 'the transactional offset commit' });
    expect(await committed()).toBe('7');
  });
});
