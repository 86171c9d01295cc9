/**
 * What delivery does with records its schemas refuse, against the real broker. On its work topics
 * (webhooks.batches, the retry tiers) such a record is poison: a dead letter with its exact bytes, the
 * reason and its position in the headers, and the partition goes on to the good record behind it. On the
 * DLQ, which the suspender reads, it is skipped: counted in webhooks_records_skipped_total{topic,reason},
 * and the suspender's committed offset moves past it. The invalid inputs are fast-check samples: bytes,
 * JSON values, and near misses of good documents (a field dropped or mistyped).
 */
import {
  type BatchRecord,
  type DeadLetter,
  parseBatchRecord,
  parseDeadLetter,
  parseRetryRecord,
} from '@hookpost/contracts';
import { groupIds } from '@hookpost/delivery';
import { type SerialProducer, SKIPPED_RECORDS_METRIC } from '@hookpost/kafka';
import { createRegistry } from '@hookpost/metrics';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import type { TestEnv } from '../support/env.ts';
import { waitFor } from '../support/env.ts';
import { makeRetry } from '../support/factories.ts';
import type { Tail } from '../support/pipeline.ts';
import { makeWebhook } from '../support/webhooks.ts';
import { deliveryTest, makeBatch, TEST_TIERS } from './support.ts';

const registry = createRegistry();
const it = deliveryTest({ registry });
let dlq: Tail<DeadLetter>;

it.beforeAll(async ({ env, tailOf }) => {
  dlq = await tailOf<DeadLetter>(env.catalog.topics.dlq.name);
});

/** Near misses of `good`: one field dropped, or set to a value of the wrong type. */
function nearMisses(good: object): fc.Arbitrary<Buffer> {
  const keys = Object.keys(good);
  return fc
    .tuple(fc.constantFrom(...keys), fc.constantFrom(undefined, null, 'x', -1.5, [[1]], {}))
    .map(([key, value]) => {
      const bad: Record<string, unknown> = { ...good, [key]: value };
      if (value === undefined) delete bad[key];
      return Buffer.from(JSON.stringify(bad));
    });
}

/** `n` inputs the parser refuses: arbitrary bytes, arbitrary JSON, near misses. */
function invalid(n: number, good: object, parse: (b: Buffer) => { ok: boolean }, seed: number): Buffer[] {
  const any = fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 60 }).map((b) => Buffer.from(b)),
    fc.jsonValue({ maxDepth: 2 }).map((v) => Buffer.from(JSON.stringify(v))),
    nearMisses(good),
  );
  return fc.sample(
    any.filter((b) => !parse(b).ok),
    { numRuns: n, seed },
  );
}

async function committed(env: TestEnv, groupId: string, topic: string, partition: number): Promise<bigint> {
  const [t] = await env.admin.fetchOffsets({ groupId, topics: [topic] });
  return BigInt(t?.partitions.find((p) => p.partition === partition)?.offset ?? '-1');
}

async function produce(producer: SerialProducer, topic: string, values: Buffer[], key: string) {
  const [r] = await producer.send(
    topic,
    values.map((value) => ({ key, value })),
  );
  return { base: BigInt(r!.baseOffset!), partition: r!.partition };
}

describe('invalid records', () => {
  it('on webhooks.batches and a retry tier: poison with exact bytes and position, and the good record behind them is delivered', async ({
    env,
    receiver,
    put,
    producer,
  }) => {
    const w = makeWebhook({ url: `${receiver.url}/ok/invalid` });
    await put(w);
    const tier = TEST_TIERS[0]!.name;
    const cases: [string, BatchRecord, object, (b: Buffer) => { ok: boolean }][] = [];
    const mainGood = makeBatch(w, 1);
    cases.push([env.catalog.topics.batches.name, mainGood, mainGood, parseBatchRecord]);
    const tierGood = makeBatch(w, 1);
    const retry = makeRetry(tierGood, tier);
    cases.push([env.catalog.retryTopic(tier), tierGood, retry, parseRetryRecord]);
    for (const [i, [topic, good, doc, parse]] of cases.entries()) {
      const bad = invalid(25, doc, parse, 17 + i);
      const { base, partition } = await produce(
        producer,
        topic,
        [...bad, Buffer.from(JSON.stringify(doc))],
        w.id,
      );
      await waitFor(() => receiver.requests.some((r) => r.headers['webhook-id'] === good.batch_id), {
        what: `the good record behind the invalid ones on ${topic}`,
        timeoutMs: 30_000,
      });
      const letters = await waitFor(() => {
        const found = dlq.records.filter(
          (r) => r.value.reason === 'poison' && r.value.source?.topic === topic,
        );
        return found.length >= bad.length ? found : undefined;
      });
      expect(letters).toHaveLength(bad.length);
      for (const [j, bytes] of bad.entries()) {
        const offset = String(base + BigInt(j));
        const l = letters.find(
          (x) => x.value.source!.offset === offset && x.value.source!.partition === partition,
        )!;
        expect(Buffer.from(l.value.source!.value_b64!, 'base64')).toEqual(bytes);
        expect(l.value.error).toEqual(expect.any(String));
        expect(l.headers).toMatchObject({
          'x-reason': 'poison',
          'x-source-topic': topic,
          'x-source-partition': String(partition),
          'x-source-offset': offset,
        });
      }
      const group =
        topic === env.catalog.topics.batches.name
          ? groupIds(env.prefix).main
          : groupIds(env.prefix).tier(tier);
      const end = base + BigInt(bad.length) + 1n;
      await waitFor(async () => (await committed(env, group, topic, partition)) >= end, {
        what: `${topic} committed past them`,
      });
    }
  });

  it('on the DLQ: the suspender skips, counts by reason, and commits past them', async ({
    env,
    producer,
  }) => {
    const sample: DeadLetter = {
      dlq_id: 'd',
      reason: 'exhausted',
      webhook_id: 'w',
      batch: null,
      dispatch: null,
      attempts: [],
      error: null,
      dead_at: 1,
      source: null,
    };
    const bad = [...invalid(30, sample, parseDeadLetter, 99), Buffer.alloc(0)];
    const expected: Record<string, number> = { empty: 0, not_json: 0, invalid: 0 };
    for (const b of bad) {
      const r = parseDeadLetter(b);
      if (!r.ok) expected[r.reason]! += 1;
    }
    const topic = env.catalog.topics.dlq.name;
    // The test's own tail parses every DLQ record as JSON: it stops before the invalid ones go in.
    await dlq.close();
    const { base, partition } = await produce(producer, topic, bad, 'x');
    const end = base + BigInt(bad.length);
    await waitFor(
      async () => (await committed(env, groupIds(env.prefix).suspender, topic, partition)) >= end,
      {
        what: 'the suspender committed past the invalid dead letters',
        timeoutMs: 30_000,
      },
    );
    const metric = registry.getSingleMetric(SKIPPED_RECORDS_METRIC)!;
    const counted = Object.fromEntries(
      (await metric.get()).values
        .filter((v) => v.labels.topic === topic)
        .map((v) => [v.labels.reason, v.value]),
    );
    expect(counted).toEqual(expected);
    expect(expected.invalid).toBeGreaterThan(0);
    expect(expected.not_json).toBeGreaterThan(0);
  });
});
