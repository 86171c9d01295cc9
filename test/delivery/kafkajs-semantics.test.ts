/**
 * The KafkaJS behaviours the delivery consumers are built on, checked on the real broker (kafkajs
 * 2.2.4): what happens to records eachBatch leaves unresolved, what pause/resume fetch next, that
 * commitOffsets works outside eachBatch without moving the fetch position, and that a member whose
 * partitions are all paused keeps its session alive past the session timeout.
 */
import { provisionTopics, type SerialProducer } from '@hookpost/kafka';
import { describe, expect } from 'vitest';
import { type TestEnv, uniq, waitFor } from '../support/env.ts';
import { it } from '../support/fixtures.ts';

let env: TestEnv;
let producer: SerialProducer;
let topic: string;

// The records are written by the fixtures' idempotent producer: the tests are about the consumer and
// check exact offsets (0..9, then 10), which a retried plain send could shift with a duplicate.
it.beforeAll(async ({ env: e, producer: p }) => {
  [env, producer] = [e, p];
  topic = `${env.prefix}semantics`;
  await provisionTopics(env.admin, [{ name: topic, partitions: 1, config: {}, doc: 'test' }]);
  await producer.send(
    topic,
    Array.from({ length: 10 }, (_, i) => ({ value: String(i) })),
  );
});

describe('KafkaJS semantics delivery relies on', () => {
  it('unresolved records are fetched again; pause stops that; resume fetches from the resolved offset', async ({
    opened,
  }) => {
    const consumer = opened.own(env.kafka.consumer({ groupId: uniq('sem'), maxWaitTimeInMs: 50 }), (c) =>
      c.disconnect(),
    );
    const fetches: string[][] = [];
    let resumeAt = 0;
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        fetches.push(batch.messages.map((m) => m.offset));
        if (fetches.length === 1) {
          // Take on 0..2 only: the rest must come again.
          for (const m of batch.messages.slice(0, 3)) resolveOffset(m.offset);
          return;
        }
        if (fetches.length === 2) {
          resolveOffset(batch.messages[0]!.offset);
          consumer.pause([{ topic, partitions: [0] }]);
          resumeAt = Date.now() + 500;
          setTimeout(() => consumer.resume([{ topic, partitions: [0] }]), 500);
          return;
        }
        for (const m of batch.messages) resolveOffset(m.offset);
      },
    });
    await waitFor(() => fetches.length >= 3, { what: 'three fetches' });
    expect(fetches[0]![0]).toBe('0');
    expect(fetches[1]![0]).toBe('3'); // unresolved 3.. came again at once (hence: pause, or it spins)
    expect(fetches[2]![0]).toBe('4'); // after resume: from the resolved offset, nothing skipped
    expect(Date.now()).toBeGreaterThanOrEqual(resumeAt);
    await consumer.disconnect();
  });

  it('commitOffsets outside eachBatch commits while running and leaves the fetch position alone', async ({
    opened,
  }) => {
    const groupId = uniq('sem');
    const consumer = opened.own(env.kafka.consumer({ groupId, maxWaitTimeInMs: 50 }), (c) => c.disconnect());
    const seen: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        for (const m of batch.messages) {
          seen.push(m.offset);
          resolveOffset(m.offset);
        }
      },
    });
    await waitFor(() => seen.length === 10);
    // Committed (4) is behind resolved (10): the next fetch must not go back to 4.
    await consumer.commitOffsets([{ topic, partition: 0, offset: '4' }]);
    const [o] = await env.admin.fetchOffsets({ groupId, topics: [topic] });
    expect(o?.partitions[0]?.offset).toBe('4');
    await producer.send(topic, [{ value: 'x' }]);
    await waitFor(() => seen.length === 11);
    expect(seen.slice(9)).toEqual(['9', '10']);
    await consumer.disconnect();
  });

  it('a member with every partition paused keeps heartbeating past the session timeout', async ({
    opened,
  }) => {
    const groupId = uniq('sem');
    const consumer = opened.own(
      env.kafka.consumer({
        groupId,
        maxWaitTimeInMs: 50,
        sessionTimeout: 6_000,
        heartbeatInterval: 500,
      }),
      (c) => c.disconnect(),
    );
    let joins = 0;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      joins += 1;
    });
    let heartbeats = 0;
    consumer.on(consumer.events.HEARTBEAT, () => {
      heartbeats += 1;
    });
    let first = true;
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async () => {
        if (first) consumer.pause([{ topic }]);
        first = false;
      },
    });
    await waitFor(() => joins === 1 && !first);
    const start = Date.now();
    await waitFor(() => Date.now() - start > 7_000, { timeoutMs: 10_000 });
    expect(joins).toBe(1);
    expect(heartbeats).toBeGreaterThanOrEqual(5);
    await consumer.disconnect();
  });
});
