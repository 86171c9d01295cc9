/**
 * kill -9 of a real delivery process mid-flight loses nothing: after a restart every batch is either
 * delivered (a 2xx at the receiver) or in the DLQ. Delivery is at least once, so duplicates are
 * allowed; they are counted and reported.
 */
import { type DeadLetter, SecretBox, type Webhook } from '@hookpost/contracts';
import { type Receiver, startReceiver } from '@hookpost/sender';
import type { SubscriptionTable, SubscriptionWriter } from '@hookpost/subscriptions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestEnv, testEnv, waitFor } from '../support/env.ts';
import { type Tail, tail } from '../support/pipeline.ts';
import { type RunningProcess, spawnService } from '../support/services.ts';
import { makeWebhook, subscriptions } from '../support/webhooks.ts';
import { BatchProducer, makeBatch, provision, TEST_TIERS } from './support.ts';

let env: TestEnv;
let receiver: Receiver;
let writer: SubscriptionWriter;
let table: SubscriptionTable;
let batches: BatchProducer;
let dlq: Tail<DeadLetter>;
let keys: string;
const processes: RunningProcess[] = [];

beforeAll(async () => {
  env = await testEnv({ partitions: 3, retryTiers: TEST_TIERS.map((t) => t.name) });
  await provision(env);
  receiver = await startReceiver();
  keys = SecretBox.generateSpec();
  const subs = await subscriptions(env, new SecretBox(keys));
  writer = subs.writer;
  table = await subs.openTable();
  batches = new BatchProducer(env);
  await batches.connect();
  dlq = await tail<DeadLetter>(env, env.catalog.topics.dlq.name);
});

afterAll(async () => {
  for (const p of processes) await p.kill('SIGKILL');
  await dlq?.close();
  await batches?.close();
  await table?.stop();
  await writer?.close();
  await receiver?.close();
  await env?.close();
});

function start(): RunningProcess {
  const p = spawnService('delivery', {
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
  });
  processes.push(p);
  return p;
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
      // The first 40 requests fail, so retries are in the tier topics when the process dies.
      await register('/fail/40/500/k5'),
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
