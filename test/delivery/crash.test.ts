/**
 * kill -9 of a real delivery process mid-flight loses nothing: after a restart every batch is either
 * delivered (a 2xx at the receiver) or in the DLQ. Delivery is at least once, so duplicates are
 * allowed; they are counted and reported.
 */
import type { DeadLetter, Webhook } from '@hookpost/contracts';
import type { Receiver } from '@hookpost/sender';
import type { SubscriptionTable, SubscriptionWriter } from '@hookpost/subscriptions';
import { describe, expect } from 'vitest';
import { type TestEnv, waitFor } from '../support/env.ts';
import type { Tail } from '../support/pipeline.ts';
import type { RunningProcess } from '../support/services.ts';
import { makeWebhook } from '../support/webhooks.ts';
import { type BatchProducer, deliveryTest, makeBatch, TEST_TIERS } from './support.ts';

const it = deliveryTest({ partitions: 3, inProcess: false });
let env: TestEnv;
let receiver: Receiver;
let writer: SubscriptionWriter;
let table: SubscriptionTable;
let batches: BatchProducer;
let dlq: Tail<DeadLetter>;
let keys: string;
let spawn: (name: string, vars: Record<string, string>) => RunningProcess;

// The fixtures close all of these; the file's helpers reach them through these names.
it.beforeAll(async ({ env: e, receiver: r, keys: k, batches: b, spawn: s, subs, owned, tailOf }) => {
  [env, receiver, keys, batches, spawn, writer] = [e, r, k, b, s, subs.writer];
  table = owned.own(await subs.openTable(), (t) => t.stop());
  dlq = await tailOf<DeadLetter>(env.catalog.topics.dlq.name);
});

function start(): RunningProcess {
  return spawn('delivery', {
    KAFKA_BROKERS: env.brokers,
    TOPIC_PREFIX: env.prefix,
    TOPIC_PARTITIONS: '3',
    RETRY_TIERS: TEST_TIERS.map((t) => t.name).join(','),
    SUBSCRIPTION_ENCRYPTION_KEYS: keys,
    SSRF_ALLOW_LOOPBACK: 'true',
    DELIVERY_ROLES: 'main,retry,suspender',
    DELIVERY_SESSION_TIMEOUT_MS: '6000',
    DELIVERY_HEARTBEAT_INTERVAL_MS: '1000',
    DELIVERY_MAX_WAIT_MS: '50',
    LOG_LEVEL: 'info',
    // The 30 failures must be retried through the short test tiers; an open circuit (30 s) would
    // exhaust them (that interaction is circuit-breaker.test.ts's), this test is about the crash.
    DELIVERY_BREAKER_FAILURES: '1000',
  });
}

async function register(path: string): Promise<Webhook> {
  const w = makeWebhook({ url: `${receiver.url}${path}` });
  const { partition, offset } = await writer.put(w);
  await table.waitForOffset(partition, offset);
  return w;
}

describe('crash safety', () => {
  it('kill -9 mid-flight: every batch is delivered or dead-lettered after a restart', async () => {
    const webhooks = [
      ...(await Promise.all([0, 1, 2, 3].map((i) => register(`/slow/100/k${i}`)))),
      await register('/slow/300/k4'),
      // Ten webhooks whose first 3 requests fail, so retries are in the tier topics when the process
      // dies. 3 per webhook, not 40 for one: a batch is dead after 4 failed attempts (the first and one
      // per tier), and with 40 for one webhook a batch's retries could come round before its siblings'
      // first attempts used them up, dead-lettering it and suspending the webhook (37 dead letters in
      // 2 of 10 runs, as the machine's load moved the timing).
      ...(await Promise.all(Array.from({ length: 10 }, (_, i) => register(`/fail/3/500/k${5 + i}`)))),
    ];
    const all = Array.from({ length: 300 }, (_, i) => makeBatch(webhooks[i % webhooks.length]!, 2));
    await batches.send(all);

    const first = start();
    await first.ready();
    const ok = () => receiver.requests.filter((r) => r.status !== null && r.status < 300);
    await waitFor(() => ok().length >= 60, { what: '60 deliveries before the crash', timeoutMs: 45_000 });
    await first.kill('SIGKILL');
    const atKill = ok().length;

    const second = start();
    await second.ready();
    const ids = new Set(all.map((b) => b.batch_id));
    const settled = () => {
      const done = new Set<string>();
      for (const r of ok()) done.add(String(r.headers['webhook-id']));
      for (const d of dlq.values()) if (d.batch) done.add(d.batch.batch_id);
      return [...ids].every((id) => done.has(id));
    };
    await waitFor(settled, { what: 'every batch delivered or dead-lettered', timeoutMs: 50_000 });

    const perBatch = new Map<string, number>();
    for (const r of ok()) {
      const id = String(r.headers['webhook-id']);
      perBatch.set(id, (perBatch.get(id) ?? 0) + 1);
    }
    const duplicates = [...perBatch.values()].reduce((s, n) => s + n - 1, 0);
    const dead = dlq.values().filter((d) => d.batch && ids.has(d.batch.batch_id));
    console.log(
      `kill -9 after ${atKill} deliveries: ${perBatch.size} of 300 batches delivered, ${dead.length} dead-lettered, ` +
        `${duplicates} duplicate deliveries (at least once), 0 lost`,
    );
    expect(perBatch.size + new Set(dead.map((d) => d.batch!.batch_id)).size).toBeGreaterThanOrEqual(300);
    expect(dead).toHaveLength(0);
    await second.kill('SIGTERM');
    expect(second.child.exitCode).toBe(0);
  });
});
