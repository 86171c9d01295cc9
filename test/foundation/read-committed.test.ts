import { createProducer, provisionTopics } from '@hookpost/kafka';
import { describe, expect } from 'vitest';
import { uniq, waitFor } from '../support/env.ts';
import { it } from '../support/fixtures.ts';

describe('read_committed through @hookpost/kafka', () => {
  it('never hands out records of aborted transactions, even when a fetch starts inside two of them', async ({
    env,
    opened,
  }) => {
    const topic = `${env.prefix}rc`;
    await provisionTopics(env.admin, [{ name: topic, partitions: 1, config: {}, doc: 'test' }]);
    // Transactional producers and a plain one: what read_committed is about. Closed here, before the
    // read; the fixture closes them too should the test fail earlier.
    const transactional = () =>
      opened.own(
        createProducer(env.kafka, { transactionalId: uniq('tx'), idempotent: true, maxInFlightRequests: 1 }),
        (p) => p.disconnect(),
      );
    const p1 = transactional();
    const p2 = transactional();
    const plain = opened.own(createProducer(env.kafka), (p) => p.disconnect());
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
    const consumer = opened.own(env.kafka.consumer({ groupId, maxWaitTimeInMs: 100 }), (c) => c.disconnect());
    await consumer.connect();
    await consumer.subscribe({ topic });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    await waitFor(() => seen.includes('e (committed)'), { what: 'the committed record' });
    await consumer.disconnect();
    expect(seen).toEqual(['e (committed)']);
  });
});
