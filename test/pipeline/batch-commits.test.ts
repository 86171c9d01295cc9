/**
 * The real batcher process commits whenever a batch closes, not when the service-wide window ends:
 * a webhook's batches are visible read committed while another webhook's batch of the same input
 * partition is still open, and repeated SIGKILLs between such mid-window commits and the window's
 * end leave every (event, webhook) pair in exactly one committed batch.
 */
import { type BatchRecord, type DispatchRecord, SecretBox, type Webhook } from '@hookpost/contracts';
import { provisionTopics, type SerialProducer } from '@hookpost/kafka';
import type { SubscriptionWriter } from '@hookpost/subscriptions';
import { describe, expect } from 'vitest';
import { type TestEnv, waitFor } from '../support/env.ts';
import { EXACTLY_ONCE, exactlyOnceReport } from '../support/exactly-once.ts';
import { integrationTest } from '../support/fixtures.ts';
import type { RunningProcess, spawnService } from '../support/services.ts';
import { makeWebhook, subscriptions } from '../support/webhooks.ts';

const PARTITIONS = 3;
const it = integrationTest({ partitions: PARTITIONS });
let env: TestEnv;
let producer: SerialProducer;
let writer: SubscriptionWriter;
// The fixture's: the batchers the tests start are stopped at the file's end (the tests SIGKILL most).
let spawn: (...args: Parameters<typeof spawnService>) => RunningProcess;
const boxSpec = SecretBox.generateSpec();

it.beforeAll(async ({ env: e, producer: p, spawn: s, owned }) => {
  [env, producer, spawn] = [e, p, s];
  const t = env.catalog.topics;
  await provisionTopics(env.admin, [t.subscriptions, t.dispatch, t.batches, t.watermarks, t.dlq]);
  writer = owned.own((await subscriptions(env, new SecretBox(boxSpec))).writer, (w) => w.close());
});

let seq = 0;
/** Dispatch records for `webhook`, written to one input partition (the batcher does not care about keys). */
async function dispatch(webhook: Webhook, n: number, partition: number): Promise<string[]> {
  const records: DispatchRecord[] = Array.from({ length: n }, () => {
    seq += 1;
    return {
      event_id: `ev${seq}`,
      webhook_id: webhook.id,
      type: 'activity.delivered',
      event_created_at: Date.now(),
      dispatched_at: Date.now(),
      payload: { type: 'activity.delivered', webhook_id: webhook.id, data: { seq } },
    };
  });
  await producer.send(
    env.catalog.topics.dispatch.name,
    records.map((r) => ({ key: r.webhook_id, value: JSON.stringify(r), partition })),
  );
  return records.map((r) => r.event_id);
}

async function startBatcher(extra: Record<string, string>) {
  const p = spawn('batcher', {
    TOPIC_PREFIX: env.prefix,
    TOPIC_PARTITIONS: String(PARTITIONS),
    KAFKA_BROKERS: env.brokers,
    SUBSCRIPTION_ENCRYPTION_KEYS: boxSpec,
    BATCHER_SESSION_TIMEOUT_MS: '6000',
    ...extra,
  });
  await p.ready();
  return p;
}

async function putWebhooks(webhooks: Webhook[]) {
  for (const w of webhooks) await writer.put(w);
}

describe('batcher commits when batches close', () => {
  const fast = makeWebhook({ batch: { max_events: 1, window_ms: 1000 } });
  const slow = makeWebhook({ batch: { max_events: 500, window_ms: 30_000 } });

  it("a webhook's batches are visible read committed while its partition's 30 s window is still open", async ({
    tailOf,
  }) => {
    await putWebhooks([fast, slow]);
    const batches = await tailOf<BatchRecord>(env.catalog.topics.batches.name);
    const batcher = await startBatcher({ BATCH_WINDOW_MS: '30000' });
    // The slow webhook's batch opens first, on the same input partition: the old design held every
    // batch of the partition in one transaction until this window (30 s) ended.
    await dispatch(slow, 3, 0);
    const started = Date.now();
    const ids = await dispatch(fast, 20, 0);
    await waitFor(() => batches.records.filter((b) => b.value.webhook_id === fast.id).length >= ids.length, {
      timeoutMs: 25_000,
      what: "every one of the fast webhook's batches visible",
    });
    const firstAt = Math.min(
      ...batches.records.filter((b) => b.value.webhook_id === fast.id).map((b) => b.value.created_at),
    );
    console.info(
      `window_ms 1000 / max_events 1 under BATCH_WINDOW_MS 30000: 20 batches visible ${Date.now() - started} ms after produce (first created ${firstAt - started} ms after)`,
    );
    // The slow webhook's batch is still open: its window has not ended, yet the others are committed.
    expect(batches.records.filter((b) => b.value.webhook_id === slow.id)).toEqual([]);
    expect(
      batches.records
        .filter((b) => b.value.webhook_id === fast.id)
        .flatMap((b) => b.value.event_ids)
        .sort(),
    ).toEqual([...ids].sort());
    await batcher.kill('SIGKILL');
  }, 90_000);
});

describe('exactly once across repeated SIGKILLs between mid-window commits and window ends', () => {
  it('under steady load with max_events 1/7/500 and mixed windows, every pair in exactly one committed batch', async ({
    tailOf,
  }) => {
    const hooks = [
      makeWebhook({ batch: { max_events: 1, window_ms: 1000 } }),
      makeWebhook({ batch: { max_events: 7, window_ms: 800 } }),
      makeWebhook({ batch: { max_events: 7, window_ms: 3000 } }),
      makeWebhook({ batch: { max_events: 500, window_ms: 2500 } }),
      makeWebhook({ batch: { max_events: 500, window_ms: 30_000 } }),
    ];
    await putWebhooks(hooks);
    const batches = await tailOf<BatchRecord>(env.catalog.topics.batches.name);
    const mine = () => batches.records.filter((b) => hooks.some((h) => h.id === b.value.webhook_id));
    const expected = new Set<string>();
    let load = true;
    const steady = (async () => {
      for (let round = 0; load; round += 1) {
        for (const [i, h] of hooks.entries())
          for (const id of await dispatch(h, 1 + ((round + i) % 4), (round + i) % PARTITIONS))
            expected.add(`${id}>${h.id}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const env5 = { BATCH_WINDOW_MS: '5000' };
    const committedFor = (w: Webhook) => mine().filter((b) => b.value.webhook_id === w.id).length;
    try {
      let batcher = await startBatcher(env5);
      for (let kill = 0; kill < 4; kill += 1) {
        // A mid-window commit: max_events-1 batches committed by this instance while the 500/2.5 s
        // and 500/30 s webhooks hold open batches (their records keep coming), then SIGKILL.
        const before = committedFor(hooks[0]!);
        await waitFor(() => committedFor(hooks[0]!) > before + 3, {
          timeoutMs: 40_000,
          what: 'a mid-window commit of the new instance',
        });
        await batcher.kill('SIGKILL');
        batcher = await startBatcher(env5);
      }
    } finally {
      load = false;
      await steady;
    }
    const count = () => {
      const seen = new Map<string, number>();
      for (const b of mine())
        for (const id of b.value.event_ids) {
          const k = `${id}>${b.value.webhook_id}`;
          seen.set(k, (seen.get(k) ?? 0) + 1);
        }
      return seen;
    };
    await waitFor(() => count().size >= expected.size, { timeoutMs: 60_000, what: 'every pair batched' });
    expect(exactlyOnceReport(count(), expected)).toEqual(EXACTLY_ONCE);
    // Batch ids are unique: a replayed open batch got the id of its first record, and left once.
    expect(new Set(mine().map((b) => b.value.batch_id)).size).toBe(mine().length);
    console.info(`${expected.size} pairs in ${mine().length} batches across 4 SIGKILLs`);
  }, 240_000);
});
