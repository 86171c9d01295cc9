/**
 * The real batcher process: size and byte boundaries, both body formats, deleted webhooks, dispatch
 * records its schema refuses (poison, among the good records of the same partition). The
 * dispatch records are written before the batcher starts, so each partition's records arrive in one
 * fetch and one window (800 ms here; 30 s by default).
 */
import {
  type BatchRecord,
  type DeadLetter,
  type DispatchRecord,
  parseDispatchRecord,
  SecretBox,
} from '@hookpost/contracts';
import { provisionTopics } from '@hookpost/kafka';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { type TestEnv, waitFor } from '../support/env.ts';
import { integrationTest } from '../support/fixtures.ts';
import type { Tail } from '../support/pipeline.ts';
import { metricsText, metricValue, type RunningProcess } from '../support/services.ts';
import { makeWebhook, subscriptions } from '../support/webhooks.ts';

const boxSpec = SecretBox.generateSpec();
const COUNTS = [1, 499, 500, 501, 1001];
const hooks = COUNTS.map(() => makeWebhook());
const lines = makeWebhook({ format: 'jsonl' });
const big = makeWebhook();
const small = makeWebhook({ batch: { max_events: 3, window_ms: 30_000 } });
const MAX_BYTES = 300_000;
/** Near misses of a good dispatch record (a field dropped or mistyped) and arbitrary JSON: all invalid. */
const invalid = fc.sample(
  fc
    .oneof(
      fc
        .tuple(
          fc.constantFrom<keyof DispatchRecord>(
            'event_id',
            'webhook_id',
            'type',
            'event_created_at',
            'payload',
          ),
          fc.constantFrom(undefined, null, -1.5, [[1]], ''),
        )
        .map(([key, value]) => {
          const bad: Record<string, unknown> = { ...record(hooks[1]!.id, 0), [key]: value };
          if (value === undefined) delete bad[key];
          return JSON.stringify(bad);
        }),
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
    )
    .filter((v) => !parseDispatchRecord(Buffer.from(v)).ok),
  { numRuns: 20, seed: 3 },
);

const it = integrationTest({ partitions: 3 });
let env: TestEnv;
let batcher: RunningProcess;
let batches: Tail<BatchRecord>;
let dlq: Tail<DeadLetter>;
const sent = new Map<string, DispatchRecord[]>();

function record(webhookId: string, i: number, pad = 0): DispatchRecord {
  return {
    event_id: `${webhookId}-e${i}`,
    webhook_id: webhookId,
    type: 'activity.delivered',
    event_created_at: 1_700_000_000_000 + i,
    dispatched_at: Date.now(),
    payload: { type: 'activity.delivered', webhook_id: webhookId, data: { i, pad: 'x'.repeat(pad) } },
  };
}

it.beforeAll(async ({ env: e, owned, producer, spawn, tailOf }) => {
  env = e;
  const t = env.catalog.topics;
  await provisionTopics(env.admin, [t.subscriptions, t.dispatch, t.batches, t.dlq]);
  const subs = await subscriptions(env, new SecretBox(boxSpec));
  owned.own(subs.writer, (w) => w.close());
  for (const w of [...hooks, lines, big, small]) await subs.writer.put(w);

  hooks.forEach((w, k) => {
    sent.set(
      w.id,
      Array.from({ length: COUNTS[k]! }, (_, i) => record(w.id, i)),
    );
  });
  sent.set(
    lines.id,
    Array.from({ length: 7 }, (_, i) => record(lines.id, i)),
  );
  sent.set(
    big.id,
    Array.from({ length: 40 }, (_, i) => record(big.id, i, 20_000)),
  );
  sent.set(
    small.id,
    Array.from({ length: 7 }, (_, i) => record(small.id, i)),
  );
  sent.set('deleted-webhook', [record('deleted-webhook', 0)]);
  await producer.send(
    t.dispatch.name,
    [...sent.values()].flat().map((r) => ({ key: r.webhook_id, value: JSON.stringify(r) })),
  );
  // Keyed like hooks[1]'s records: the same partition, whose 499 good records must still be batched.
  await producer.send(
    t.dispatch.name,
    invalid.map((value) => ({ key: hooks[1]!.id, value })),
  );

  batcher = spawn('batcher', {
    TOPIC_PREFIX: env.prefix,
    TOPIC_PARTITIONS: '3',
    KAFKA_BROKERS: env.brokers,
    SUBSCRIPTION_ENCRYPTION_KEYS: boxSpec,
    BATCH_WINDOW_MS: '800',
    BATCH_MAX_BYTES: String(MAX_BYTES),
  });
  await batcher.ready();
  batches = await tailOf<BatchRecord>(t.batches.name);
  dlq = await tailOf<DeadLetter>(t.dlq.name);
  const expected = [...sent.values()].flat().length - 1;
  await waitFor(() => batches.records.reduce((n, b) => n + b.value.event_ids.length, 0) >= expected, {
    what: 'every event batched',
  });
});

const of = (webhookId: string) =>
  batches.records.filter((b) => b.value.webhook_id === webhookId).map((b) => b.value);
const parse = (b: BatchRecord) =>
  b.format === 'jsonl'
    ? b.body
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l))
    : JSON.parse(b.body);

describe('batcher', () => {
  it.each(COUNTS.map((n, k) => [n, k]))('%i events for one webhook in one window', (n, k) => {
    const w = hooks[k]!;
    const got = of(w.id);
    const sizes = got.map((b) => b.event_ids.length).sort((a, b) => b - a);
    const expected = [...Array(Math.floor(n / 500)).fill(500), ...(n % 500 ? [n % 500] : [])];
    expect(sizes).toEqual(expected);
    // The bodies parse back to exactly the payloads sent, in order, and batch ids are unique.
    const bodies = got.sort((a, b) =>
      a.event_ids[0]!.localeCompare(b.event_ids[0]!, 'en', { numeric: true }),
    );
    expect(bodies.flatMap(parse)).toEqual(sent.get(w.id)!.map((r) => r.payload));
    expect(new Set(got.map((b) => b.batch_id)).size).toBe(got.length);
    for (const b of got) {
      expect(b).toMatchObject({ webhook_id: w.id, format: 'json' });
      expect(b.first_enqueued_at).toBeLessThanOrEqual(b.created_at);
      expect(b.oldest_event_at).toBe(
        Math.min(...b.event_ids.map((id) => 1_700_000_000_000 + Number(id.slice(id.lastIndexOf('-e') + 2)))),
      );
    }
  });

  it('keys batches by webhook id', () => {
    expect(batches.records.every((b) => b.key === b.value.webhook_id)).toBe(true);
  });

  it('writes JSON Lines for a webhook that asks for it', () => {
    const got = of(lines.id);
    expect(got).toHaveLength(1);
    expect(got[0]!.format).toBe('jsonl');
    expect(parse(got[0]!)).toEqual(sent.get(lines.id)!.map((r) => r.payload));
  });

  it('splits on the byte cap', () => {
    const got = of(big.id);
    expect(got.length).toBeGreaterThan(1);
    for (const b of got) expect(Buffer.byteLength(b.body)).toBeLessThanOrEqual(MAX_BYTES);
    expect(got.flatMap((b) => b.event_ids).sort()).toEqual(
      sent
        .get(big.id)!
        .map((r) => r.event_id)
        .sort(),
    );
  });

  it("honours the webhook's own max events", () => {
    expect(
      of(small.id)
        .map((b) => b.event_ids.length)
        .sort(),
    ).toEqual([1, 3, 3]);
  });

  it('dead-letters the records of a deleted webhook with reason deleted', async () => {
    const letter = await waitFor(() => dlq.records.find((r) => r.value.webhook_id === 'deleted-webhook'));
    expect(letter.value.reason).toBe('deleted');
    expect(letter.value.dispatch?.[0]?.event_id).toBe('deleted-webhook-e0');
  });

  it('dead-letters every record its schema refuses as poison, with its exact bytes and position', async () => {
    const letters = await waitFor(() => {
      const found = dlq.records.filter((r) => r.value.reason === 'poison');
      return found.length >= invalid.length ? found : undefined;
    });
    expect(letters.map((l) => Buffer.from(l.value.source!.value_b64!, 'base64').toString()).sort()).toEqual(
      [...invalid].sort(),
    );
    for (const l of letters)
      expect(l.headers).toMatchObject({
        'x-reason': 'poison',
        'x-source-topic': env.catalog.topics.dispatch.name,
        'x-source-partition': String(l.value.source!.partition),
        'x-source-offset': l.value.source!.offset,
      });
    expect(of(hooks[1]!.id).flatMap((b) => b.event_ids)).toHaveLength(COUNTS[1]!);
    // The count includes the deleted webhook's letter, from another partition: wait for it here too.
    await waitFor(() => dlq.records.some((r) => r.value.webhook_id === 'deleted-webhook'));
    expect(metricValue(await metricsText(batcher), 'webhooks_batcher_dead_lettered_total')).toBe(
      invalid.length + 1,
    );
  });

  it('reports batches, sizes and fill times on /metrics', async () => {
    const text = await metricsText(batcher);
    expect(metricValue(text, 'webhooks_batches_produced_total')).toBe(batches.records.length);
    expect(text).toContain('webhooks_batch_size_events_bucket');
    expect(text).toContain('webhooks_batch_fill_seconds_bucket');
    expect(text).toMatch(/webhooks_consumer_lag_records\{topic="[^"]+",partition="\d"/);
    expect(metricValue(text, 'webhooks_transactions_total')).toBeGreaterThan(0);
  });
});
