import { createProducer, provisionTopics } from '@hookpost/kafka';
import { describe, expect } from 'vitest';
import { type TestEnv, uniq, waitFor } from '../support/env.ts';
import { it, type Owner } from '../support/fixtures.ts';

let env: TestEnv;
let topic: string;
it.beforeAll(async ({ env: e }) => {
  env = e;
  topic = `${env.prefix}tx`;
  await provisionTopics(env.admin, [
    { name: topic, partitions: 1, config: {}, doc: 'test' },
    { name: `${topic}.in`, partitions: 1, config: {}, doc: 'test' },
  ]);
});

/** A transactional producer (what this file is about), closed by `opened` should its test fail first. */
const transactional = (opened: Owner) =>
  opened.own(
    createProducer(env.kafka, { transactionalId: uniq('tx'), idempotent: true, maxInFlightRequests: 1 }),
    (p) => p.disconnect(),
  );

async function readValues(
  opened: Owner,
  t: string,
  readUncommitted: boolean,
  until: (v: string[]) => boolean,
) {
  const seen: string[] = [];
  const consumer = opened.own(
    env.kafka.consumer({ groupId: uniq('g'), readUncommitted, maxWaitTimeInMs: 100 }),
    (c) => c.disconnect(),
  );
  await consumer.connect();
  await consumer.subscribe({ topic: t, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
  await waitFor(() => until(seen), { what: `records of ${t}` });
  await consumer.disconnect();
  return seen;
}

describe('Kafka transactions with KafkaJS against Kafka 4', () => {
  it('read_committed consumers see committed transactions and never aborted ones', async ({ opened }) => {
    const producer = transactional(opened);
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
    const committed = await readValues(opened, topic, false, (v) => v.includes('committed-3'));
    expect(committed).toEqual(['committed-1', 'committed-2', 'committed-3']);
    const uncommitted = await readValues(opened, topic, true, (v) => v.includes('committed-3'));
    expect(uncommitted).toEqual(['committed-1', 'committed-2', 'aborted', 'committed-3']);
  });

  it('consumed offsets sent in a transaction are committed with it, and not when it aborts', async ({
    opened,
  }) => {
    const groupId = uniq('g');
    const input = `${topic}.in`;
    const producer = transactional(opened);
    await producer.connect();

    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ value: 'from-aborted' }] });
    await aborted.sendOffsets({
      consumerGroupId: groupId,
      topics: [{ topic: input, partitions: [{ partition: 0, offset: '5' }] }],
    });
    await aborted.abort();

    const tx = await producer.transaction();
    await tx.send({ topic, messages: [{ value: 'from-committed' }] });
    // abort() returns before the abort's markers are written (a wrongly committed offset would show only
    // then); the producer's next transaction cannot add a partition until they are, so this send proves it.
    const afterAbort = await env.admin.fetchOffsets({ groupId, topics: [input] });
    expect(afterAbort[0]?.partitions[0]?.offset).toBe('-1');
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
