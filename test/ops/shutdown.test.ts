/**
 * Graceful shutdown of the real processes on SIGTERM (what the kubelet sends): each long-running
 * service, once ready, exits 0 within its shutdown bound and leaves its consumer group at once (so
 * its partitions move without waiting for the session timeout). Delivery with a request in flight to
 * a hanging receiver does what it documents: it finishes the work (the request runs to the webhook's
 * timeout, the outcome goes to the retry tier, the offset is committed), then exits within its bound.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RetryRecord, SecretBox } from '@hookpost/contracts';
import { provisionTopics, topicOffsets } from '@hookpost/kafka';
import type { Receiver } from '@hookpost/sender';
import { describe, expect } from 'vitest';
import { BatchProducer, makeBatch } from '../delivery/support.ts';
import { type TestEnv, waitFor } from '../support/env.ts';
import { integrationTest } from '../support/fixtures.ts';
import type { RunningProcess, spawnService } from '../support/services.ts';
import { makeWebhook, subscriptions } from '../support/webhooks.ts';
import { shutdownBoundMs } from './manifests.ts';

const TIER = '1s';
const it = integrationTest({ partitions: 2, retryTiers: [TIER] });
let env: TestEnv;
let receiver: Receiver;
let keys: string;
let dataDir: string;
// The `spawn` fixture: what the tests spawn is stopped at the file's end (each test SIGTERMs its own first).
let spawn: (...args: Parameters<typeof spawnService>) => RunningProcess;

it.beforeAll(async ({ env: e, receiver: r, owned, spawn: s }) => {
  [env, receiver, spawn] = [e, r, s];
  await waitFor(() => provisionTopics(env.admin, env.catalog.all()).then(() => true), { what: 'topics' });
  for (const spec of env.catalog.all()) await topicOffsets(env.kafka, spec.name);
  keys = SecretBox.generateSpec();
  dataDir = owned.own(mkdtempSync(join(tmpdir(), 'hookpost-shutdown-')), (d) =>
    rmSync(d, { recursive: true, force: true }),
  );
}, 120_000);

function start(service: string, extra: Record<string, string> = {}): RunningProcess {
  return spawn(service, {
    KAFKA_BROKERS: env.brokers,
    SCHEMA_REGISTRY_URL: env.registryUrl,
    TOPIC_PREFIX: env.prefix,
    TOPIC_PARTITIONS: '2',
    RETRY_TIERS: TIER,
    SUBSCRIPTION_ENCRYPTION_KEYS: keys,
    API_PORT: '0',
    API_HOST: '127.0.0.1',
    API_DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    ...extra,
  });
}

/** SIGTERM, then the exit code and how long the process took to exit. */
async function terminate(
  p: RunningProcess,
): Promise<{ code: number | null; signal: string | null; ms: number }> {
  const t0 = Date.now();
  const exited = new Promise<void>((r) => p.child.once('exit', () => r()));
  p.child.kill('SIGTERM');
  await exited;
  return { code: p.child.exitCode, signal: p.child.signalCode, ms: Date.now() - t0 };
}

async function members(groupId: string): Promise<number> {
  const { groups } = await env.admin.describeGroups([groupId]);
  return groups[0]?.members.length ?? 0;
}

describe('graceful shutdown on SIGTERM', () => {
  it.each([
    ['fanout', 'hookpost-fanout'],
    ['batcher', 'hookpost-batcher'],
    ['api', null],
  ])('%s: once ready, exits 0 within its bound and leaves its consumer group', async (service, group) => {
    const p = start(service);
    await p.ready(90_000);
    const groupId = group ? `${env.prefix}${group}` : null;
    if (groupId)
      await waitFor(async () => (await members(groupId)) > 0, { what: `${service} joined its group` });

    const { code, signal, ms } = await terminate(p);
    expect({ code, signal }, p.output().slice(-2000)).toEqual({ code: 0, signal: null });
    expect(ms).toBeLessThan(shutdownBoundMs(service));
    expect(p.output()).toMatch(new RegExp(`"msg":"${service} stopped"`));
    // Left the group (LeaveGroup), rather than leaving its partitions orphaned until the session times out.
    if (groupId) expect(await members(groupId)).toBe(0);
  });

  it('delivery with a request in flight to a hanging receiver finishes it: retry produced, offset committed, exit 0 in bound', async ({
    opened,
    tailOf,
  }) => {
    const subs = await subscriptions(env, new SecretBox(keys));
    opened.own(subs.writer, (w) => w.close());
    const timeoutMs = 3_000;
    const webhook = makeWebhook({ url: `${receiver.url}/hang/shutdown`, timeout_ms: timeoutMs });
    await subs.writer.put(webhook);
    const retries = await tailOf<RetryRecord>(env.catalog.retryTopic(TIER));
    const batches = opened.own(new BatchProducer(env), (b) => b.close());
    await batches.connect();

    // Only the main consumer, so the retry it produces waits in the tier topic for the test to read.
    const p = start('delivery', {
      DELIVERY_ROLES: 'main',
      SSRF_ALLOW_LOOPBACK: 'true',
      DELIVERY_SESSION_TIMEOUT_MS: '6000',
      DELIVERY_HEARTBEAT_INTERVAL_MS: '1000',
    });
    await p.ready(90_000);
    const batch = makeBatch(webhook, 2);
    await batches.send([batch]);
    await waitFor(() => receiver.requests.some((r) => r.path === '/hang/shutdown'), {
      what: 'the request is in flight at the hanging receiver',
    });

    const { code, signal, ms } = await terminate(p);
    expect({ code, signal }, p.output().slice(-2000)).toEqual({ code: 0, signal: null });
    expect(ms).toBeLessThan(shutdownBoundMs('delivery'));
    // It waited for the in-flight request to reach its outcome (the webhook's timeout), not dropped it…
    expect(ms).toBeGreaterThan(timeoutMs / 2);
    // …whose outcome is durable: the batch sits in the retry tier,
    await waitFor(() => retries.values().some((r) => r.batch.batch_id === batch.batch_id), {
      what: 'the batch in the retry tier',
    });
    // …and the input offset is committed past it, so a restart does not send it again.
    const groupId = `${env.prefix}hookpost-delivery`;
    const [offsets] = await env.admin.fetchOffsets({ groupId, topics: [env.catalog.topics.batches.name] });
    const committed = offsets!.partitions.reduce((sum, x) => sum + Math.max(0, Number(x.offset)), 0);
    expect(committed).toBe(1);
    expect(await members(groupId)).toBe(0);
  });
});
