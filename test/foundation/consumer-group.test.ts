import { provisionTopics } from '@hookpost/kafka';
import { describe, expect } from 'vitest';
import { uniq, waitFor } from '../support/env.ts';
import { it } from '../support/fixtures.ts';

describe('consumer groups', () => {
  it('a consumer that restarts in the same group resumes after its last committed offset', async ({
    env,
    producer,
    opened,
  }) => {
    const topic = `${env.prefix}cg`;
    await provisionTopics(env.admin, [{ name: topic, partitions: 1, config: {}, doc: 'test' }]);
    await producer.send(
      topic,
      Array.from({ length: 10 }, (_, i) => ({ value: String(i) })),
    );
    const groupId = uniq('g');

    // First life: process 6 records, committing each one after it is handled, then stop.
    const first: string[] = [];
    const c1 = opened.own(env.kafka.consumer({ groupId, maxWaitTimeInMs: 100 }), (c) => c.disconnect());
    await c1.connect();
    await c1.subscribe({ topic, fromBeginning: true });
    await c1.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        if (first.length === 6) return;
        first.push(message.value!.toString());
        await c1.commitOffsets([{ topic, partition: 0, offset: String(Number(message.offset) + 1) }]);
      },
    });
    await waitFor(() => first.length === 6, { what: 'six records' });
    await c1.disconnect();
    const committed = await env.admin.fetchOffsets({ groupId, topics: [topic] });
    expect(committed[0]?.partitions[0]?.offset).toBe('6');

    // Second life: the same group picks up exactly where the first left off.
    const second: string[] = [];
    const c2 = opened.own(env.kafka.consumer({ groupId, maxWaitTimeInMs: 100 }), (c) => c.disconnect());
    await c2.connect();
    await c2.subscribe({ topic, fromBeginning: true });
    await c2.run({ eachMessage: async ({ message }) => void second.push(message.value!.toString()) });
    await waitFor(() => second.length === 4, { what: 'the remaining four' });
    await c2.disconnect();
    expect(first).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(second).toEqual(['6', '7', '8', '9']);
  });
});
