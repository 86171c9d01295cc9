import {
  createProducer,
  type KafkaRecord,
  type PartitionControl,
  type PartitionHandler,
  TransactionalRunner,
  type TransactionalRunnerOptions,
  transactionalIdFor,
} from '@hookpost/kafka';
import { describe, expect } from 'vitest';
import { type TestEnv, uniq, waitFor } from '../support/env.ts';
import { it, type Owner } from '../support/fixtures.ts';
import { tail } from '../support/pipeline.ts';
import { inOutTopics, produceValues } from '../support/records.ts';

let env: TestEnv;
it.beforeAll(({ env: e }) => {
  env = e;
});

const topics = (partitions: number) => inOutTopics(env, 'rt', partitions);
const produce = (topic: string, values: string[]) => produceValues(env, topic, values);
const collect = async (opened: Owner, topic: string) =>
  opened.own(await tail<string>(env, topic, { raw: true }), (t) => t.close());
/** A transactional producer (the test is about transactions), closed by `opened` should the test fail first. */
const transactional = (opened: Owner, transactionalId: string) =>
  opened.own(createProducer(env.kafka, { transactionalId, idempotent: true, maxInFlightRequests: 1 }), (p) =>
    p.disconnect(),
  );

function echo(output: string, hooks: { before?: (m: KafkaRecord[]) => void } = {}) {
  return (_: PartitionControl): PartitionHandler => ({
    onMessages: async (messages, tx) => {
      hooks.before?.(messages);
      await tx.send(messages.map((m) => ({ topic: output, key: null, value: `out-${m.value!.toString()}` })));
      return 'commit';
    },
    reset: () => {},
  });
}

/** A started runner, stopped by `opened` after the test. */
async function runner(
  opened: Owner,
  input: string,
  groupId: string,
  prefix: string,
  createHandler: TransactionalRunnerOptions['createHandler'],
) {
  const r = new TransactionalRunner({
    kafka: env.kafka,
    logger: env.logger,
    groupId,
    topic: input,
    transactionalIdPrefix: prefix,
    transactionTimeoutMs: 20_000,
    createHandler,
    maxWaitTimeInMs: 100,
  });
  opened.own(r, (x) => x.stop());
  await r.start();
  return r;
}

describe('transactional runner against the real broker', () => {
  it('produces each output once and commits the consumed offsets with it, even after a failed batch', async ({
    opened,
  }) => {
    const { input, output } = await topics(3);
    const values = Array.from({ length: 60 }, (_, i) => `r${i}`);
    await produce(input, values);
    let failures = 1;
    const groupId = uniq('g');
    const r = await runner(
      opened,
      input,
      groupId,
      uniq('svc'),
      echo(output, {
        before: (m) => {
          // The first batch fails after its outputs were sent: the abort must hide them.
          if (failures > 0 && m.length > 0) {
            failures -= 1;
            throw new Error('handler failed once');
          }
        },
      }),
    );
    const out = await collect(opened, output);
    await waitFor(() => out.values().length >= values.length, { what: 'all outputs' });
    await waitFor(
      async () => {
        const [t] = await env.admin.fetchOffsets({ groupId, topics: [input] });
        return t!.partitions.reduce((n, p) => n + Number(p.offset), 0) === values.length;
      },
      { what: 'offsets committed' },
    );
    await out.close();
    expect(out.values().sort()).toEqual(values.map((v) => `out-${v}`).sort());
    expect(r.partitions).toEqual([0, 1, 2]);
  });

  it('a new owner of the transactional id fences the old one: its open transaction never becomes visible', async ({
    opened,
  }) => {
    const { input, output } = await topics(1);
    await produce(input, ['a', 'b']);
    const prefix = uniq('svc');
    let sent = false;
    let control!: PartitionControl;
    const groupId = uniq('g');
    await runner(opened, input, groupId, prefix, (c) => {
      control = c;
      return {
        onMessages: async (messages, tx) => {
          await tx.send(messages.map((m) => ({ topic: output, key: null, value: `zombie-${m.value}` })));
          sent = true;
          return 'hold';
        },
        reset: () => {},
      };
    });
    await waitFor(() => sent, { what: 'held transaction' });
    // What a new owner does first: InitProducerId with the same transactional id.
    const usurper = transactional(opened, transactionalIdFor(prefix, input, 0));
    await usurper.connect();
    const tx = await usurper.transaction();
    await tx.send({ topic: output, messages: [{ value: 'owner' }] });
    await tx.commit();
    await usurper.disconnect();
    await expect(control.commit(async () => {})).rejects.toThrow();
    const out = await collect(opened, output);
    await waitFor(() => out.values().includes('owner'), { what: 'owner record' });
    await out.close();
    expect(out.values()).toEqual(['owner']);
    const [t] = await env.admin.fetchOffsets({ groupId, topics: [input] });
    expect(t!.partitions[0]!.offset).toBe('-1');
  });

  it('on an input written in transactions, the committed offsets reach the high watermarks (markers passed: lag 0)', async ({
    opened,
  }) => {
    const { input, output } = await topics(3);
    const upstream = transactional(opened, uniq('upstream'));
    await upstream.connect();
    // Several transactions, each ending in a marker on every partition it wrote to.
    for (let t = 0; t < 5; t += 1) {
      const tx = await upstream.transaction();
      await tx.send({
        topic: input,
        messages: [0, 1, 2].map((partition) => ({ partition, key: null, value: `t${t}` })),
      });
      await tx.commit();
    }
    await upstream.disconnect();
    const groupId = uniq('g');
    await runner(opened, input, groupId, uniq('svc'), echo(output));
    const lag = async () => {
      const ends = await env.admin.fetchTopicOffsets(input);
      const [t] = await env.admin.fetchOffsets({ groupId, topics: [input] });
      return ends.map((e) => {
        const c = t?.partitions.find((p) => p.partition === e.partition)?.offset ?? '-1';
        return Number(e.high) - Math.max(0, Number(c));
      });
    };
    // Before, the committed offsets stayed on each partition's last marker: lag 1 for good.
    await waitFor(async () => (await lag()).every((l) => l === 0), { what: 'lag 0 on every partition' });
    expect((await env.admin.fetchTopicOffsets(input)).every((e) => Number(e.high) > 0)).toBe(true);
  });
});
