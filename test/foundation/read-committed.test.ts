import { createProducer, provisionTopics } from '@hookpost/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestEnv, testEnv, uniq, waitFor } from '../support/env.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await testEnv();
});
afterAll(async () => env?.close());

describe('read_committed through @hookpost/kafka', () => {
  it('never hands out records of aborted transactions, even when a fetch starts inside two of them', async () => {
    const topic = `${env.prefix}rc`;
    await provisionTopics(env.admin, [{ name: topic, partitions: 1, config: {}, doc: 'test' }]);
    const p1 = createProducer(env.kafka, {
      transactionalId: uniq('tx'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    const p2 = createProducer(env.kafka, {
      transactionalId: uniq('tx'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    const plain = createProducer(env.kafka);
    await Promise.all([p1.connect(), p2.connect(), plain.connect()]);
    // Two producers' transactions interleave in one partition, as two fan-out partitions' producers
    // do in a dispatch partition; both abort (a killed, fenced owner).
    const t1 = await p1.transaction();
    const t2 = await p2.transaction();
    await t1.send({ topic, messages: [{ value: 'a (P1, aborted)' }] }); // offset 0
    await t2.send({ topic, messages: [{ value: 'b (P2, aborted)' }] }); // 1
    await t1.send({ topic, messages: [{ value: 'c (P1, aborted)' }] }); // 2
    await t2.send({ topic, messages: [{ value: 'd (P2, aborted)' }] }); // 3
    await t1.abort();
    await t2.abort();
    await plain.send({ topic, messages: [{ value: 'e (committed)' }] });
    await Promise.all([p1.disconnect(), p2.disconnect(), plain.disconnect()]);

    // A group whose committed offset points into the aborted range, at a record of the second producer.
    const groupId = uniq('g');
    await env.admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '3' }] });
    const seen: string[] = [];
    const consumer = env.kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    await waitFor(() => seen.includes('e (committed)'), { what: 'the committed record' });
    await consumer.disconnect();
    expect(seen).toEqual(['e (committed)']);
  });
});
