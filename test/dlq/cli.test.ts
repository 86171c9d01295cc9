import { randomUUID } from 'node:crypto';
import { type DeadLetter, SecretBox, type Webhook } from '@hookpost/contracts';
import { readLedger, readToEnd } from '@hookpost/deadletters';
import { lastOffsets, provisionTopics } from '@hookpost/kafka';
import type { Receiver } from '@hookpost/sender';
import type { SubscriptionTable } from '@hookpost/subscriptions';
import { describe, expect } from 'vitest';
import { type TestEnv, uniq, waitFor } from '../support/env.ts';
import { failedAttempt, makeDeadLetter, makeDispatch } from '../support/factories.ts';
import { integrationTest } from '../support/fixtures.ts';
import { makeWebhook, subscriptions } from '../support/webhooks.ts';
import { runDlq } from './run.ts';

const TIERS = ['200ms', '500ms'];
const it = integrationTest({ partitions: 3, retryTiers: TIERS });
let env: TestEnv;
let keys: string;
let receiver: Receiver;
let table: SubscriptionTable;
let healthy: Webhook;
let suspended: Webhook;
const t0 = Date.parse('2026-01-10T10:00:00Z');
const letters: Record<string, DeadLetter> = {};

function deadLetter(webhookId: string | null, deadAt: number, over: Partial<DeadLetter> = {}): DeadLetter {
  const batchId = `batch-${randomUUID()}`;
  const batch = {
    batch_id: batchId,
    webhook_id: webhookId ?? '',
    format: 'json' as const,
    body: JSON.stringify([
      { type: 'activity.delivered', event_id: `${batchId}-e1` },
      { type: 'activity.sent', event_id: `${batchId}-e2` },
    ]),
    event_ids: [`${batchId}-e1`, `${batchId}-e2`],
    first_enqueued_at: deadAt - 5_000,
    oldest_event_at: deadAt - 6_000,
    created_at: deadAt - 5_000,
  };
  return makeDeadLetter(batch, deadAt, {
    dlq_id: uniq('dlq'),
    webhook_id: webhookId,
    batch: webhookId ? batch : null,
    attempts: [
      failedAttempt(deadAt - 2_000, { status: 503, latency_ms: 40, error: 'HTTP 503' }),
      failedAttempt(deadAt, { attempt: 2, tier: '200ms', status: null, latency_ms: 3000, error: 'timeout' }),
    ],
    error: 'retries exhausted: timeout',
    ...over,
  });
}

const dlq = (args: string[]) => runDlq(env, keys, args);

async function count(topic: string): Promise<string[]> {
  const values: string[] = [];
  await readToEnd({
    kafka: env.kafka,
    topic,
    groupPrefix: env.prefix,
    onMessage: (m) => void values.push(String(m.value)),
  });
  return values;
}

const batchIdsAt = (topic: string) =>
  count(topic).then((vs) => vs.map((v) => JSON.parse(v).batch_id as string));
const received = (batchId: string) =>
  receiver.requests.filter((r) => r.headers['webhook-id'] === batchId).length;
const iso = (ms: number) => new Date(ms).toISOString();

it.beforeAll(async ({ env: e, receiver: r, producer, spawn, owned }) => {
  [env, receiver] = [e, r];
  await provisionTopics(env.admin, env.catalog.all());
  keys = SecretBox.generateSpec();
  const subs = await subscriptions(env, new SecretBox(keys));
  owned.own(subs.writer, (w) => w.close());
  healthy = makeWebhook({ url: `${receiver.url}/ok` });
  suspended = makeWebhook({ url: `${receiver.url}/ok`, status: 'suspended', status_reason: 'exhausted' });
  await subs.writer.put(healthy);
  await subs.writer.put(suspended);
  table = owned.own(await subs.openTable(), (t) => t.stop());

  letters.a1 = deadLetter(healthy.id, t0);
  letters.a2 = deadLetter(healthy.id, t0 + 1_000, { reason: 'gone' });
  letters.a3 = deadLetter(healthy.id, t0 + 3_600_000);
  letters.poison = deadLetter(null, t0 + 500, { reason: 'poison' });
  letters.s1 = deadLetter(suspended.id, t0 + 2_000);
  letters.s2 = deadLetter(suspended.id, t0 + 2_500, {
    reason: 'suspended',
    batch: null,
    dispatch: [
      makeDispatch(suspended, 'ev-suspended-1', {
        event_created_at: t0,
        dispatched_at: t0,
        payload: { type: 'activity.delivered' },
      }),
    ],
  });
  await producer.send(
    env.catalog.topics.dlq.name,
    Object.values(letters).map((l) => ({ key: l.webhook_id, value: JSON.stringify(l) })),
  );
  const delivery = spawn('delivery', {
    KAFKA_BROKERS: env.brokers,
    TOPIC_PREFIX: env.prefix,
    TOPIC_PARTITIONS: '3',
    RETRY_TIERS: TIERS.join(','),
    SUBSCRIPTION_ENCRYPTION_KEYS: keys,
    SSRF_ALLOW_LOOPBACK: 'true',
    DELIVERY_ROLES: 'main',
    DELIVERY_MAX_WAIT_MS: '50',
    // spawnService learns the ops port from the info-level start-up line.
    LOG_LEVEL: 'info',
  });
  await delivery.ready();
});

describe('dlq CLI', () => {
  it('answers --help on every command and refuses bad usage with exit 2', async () => {
    for (const cmd of [[], ['list'], ['show'], ['replay']]) {
      const r = await dlq([...cmd, '--help']);
      expect(r.code, cmd.join()).toBe(0);
      expect(r.stdout).toMatch(/Usage: dlq/);
    }
    const bad = await dlq(['replay', '--from', 'yesterday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--from: "yesterday" is not a time/);
    expect((await dlq(['frobnicate'])).code).toBe(2);
  });

  it('lists counts by webhook and reason in a time range, and shows one record', async () => {
    const list = await dlq(['list', '--from', iso(t0), '--to', iso(t0 + 10_000), '--json']);
    expect(list.code, list.stderr).toBe(0);
    const rows = JSON.parse(list.stdout).rows as {
      webhook_id: string;
      reason: string;
      count: number;
      events: number;
    }[];
    expect(rows).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ webhook_id: healthy.id, reason: 'exhausted', count: 1, events: 2 }),
        expect.objectContaining({ webhook_id: healthy.id, reason: 'gone', count: 1 }),
        expect.objectContaining({ webhook_id: null, reason: 'poison', count: 1 }),
        expect.objectContaining({ webhook_id: suspended.id, reason: 'suspended', count: 1, events: 1 }),
      ]),
    );
    expect(rows.reduce((n, r) => n + r.count, 0)).toBe(5);
    const human = await dlq(['list', '--webhook', healthy.id]);
    expect(human.stdout).toMatch(/WEBHOOK\s+REASON\s+COUNT/);
    expect(human.stdout).toContain('total 3');
    // The ids, newest first, so `show` has a start: every id list prints is one show finds.
    expect(human.stdout).toMatch(/DLQ_ID\s+WEBHOOK\s+REASON\s+EVENTS\s+DEAD_AT/);
    const printed = [letters.a3!, letters.a2!, letters.a1!].map((l) => l.dlq_id);
    const at = printed.map((id) => human.stdout.indexOf(id));
    expect(at.every((i) => i > 0) && at[0]! < at[1]! && at[1]! < at[2]!, human.stdout).toBe(true);
    const cell = human.stdout
      .split('\n')
      .find((l) => l.includes(letters.a2!.dlq_id))!
      .split('  ')[0]!;
    const fromList = await dlq(['show', `${cell} `]);
    expect(fromList.code, fromList.stderr).toBe(0);
    expect(fromList.stdout).toContain(letters.a2!.batch!.batch_id);
    const one = await dlq(['list', '--webhook', healthy.id, '--limit', '1', '--json']);
    const doc = JSON.parse(one.stdout);
    expect(doc.letters.map((l: { dlq_id: string }) => l.dlq_id)).toEqual([letters.a3!.dlq_id]);
    expect(doc.total).toBe(3);
    const limited = await dlq(['list', '--webhook', healthy.id, '--limit', '2']);
    expect(limited.stdout).toContain('newest 2 of 3 shown (--limit N for more, --limit 0 for all)');
    expect((await dlq(['list', '--limit', 'lots'])).code).toBe(2);

    const show = await dlq(['show', letters.a1!.dlq_id]);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(letters.a1!.batch!.batch_id);
    expect(show.stdout).toMatch(/#2 200ms .* timeout/);
    expect(show.stdout).toContain('retries exhausted: timeout');
    const missing = await dlq(['show', 'no-such-id']);
    expect(missing.code).toBe(4);
  });

  it('replays a range into a healthy receiver once: dry run changes nothing, a second run does nothing', async () => {
    const range = ['--webhook', healthy.id, '--from', iso(t0), '--to', iso(t0 + 10_000)];
    const dry = await dlq(['replay', ...range, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/dry run: 2 dead letters matched; would replay 2 \(4 events\)/);
    expect(await count(env.catalog.topics.batches.name)).toEqual([]);
    expect((await readLedger(env.kafka, `${env.prefix}webhooks.dlq.replayed`, env.prefix)).size).toBe(0);

    const first = await dlq(['replay', ...range, '--rate', '20/s']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/replayed 2 \(4 events\)/);
    expect(first.stderr).toMatch(/\[#+\] 2\/2 .*ETA/);
    const ids = [letters.a1!.batch!.batch_id, letters.a2!.batch!.batch_id];
    expect((await batchIdsAt(env.catalog.topics.batches.name)).sort()).toEqual([...ids].sort());
    await waitFor(() => ids.every((id) => received(id) >= 1), { what: 'replayed batches at the receiver' });

    const again = await dlq(['replay', ...range]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/replayed 0 \(0 events\); skipped already replayed: 2/);
    expect((await batchIdsAt(env.catalog.topics.batches.name)).sort()).toEqual([...ids].sort());
    // Each replayed batch reached the receiver exactly once, with its original id and events.
    for (const id of ids) expect(received(id)).toBe(1);
    const body = receiver.requests.find((r) => r.headers['webhook-id'] === ids[0])!.body;
    expect(body).toBe(letters.a1!.batch!.body);
  });

  it('refuses to replay to a suspended webhook unless told to resume it', async () => {
    // A dry run is allowed while suspended (that is when an SRE needs it) and changes nothing.
    const dry = await dlq(['replay', '--webhook', suspended.id, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/dry run: 2 dead letters matched; would replay 2 \(3 events\)/);
    expect(dry.stdout).toContain(`needs --resume for suspended ${suspended.id}`);
    // A resume the dry run wrote would be on the topic by now: read to its end before "still suspended".
    for (const [partition, offset] of await lastOffsets(env.kafka, env.catalog.topics.subscriptions.name))
      await table.waitForOffset(partition, offset);
    expect(table.get(suspended.id)?.status).toBe('suspended');
    expect(await count(env.catalog.topics.dispatch.name)).toEqual([]);

    const refused = await dlq(['replay', '--webhook', suspended.id]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/still suspended; nothing was replayed/);
    expect(refused.stderr).toContain('--resume');

    const resumed = await dlq(['replay', '--webhook', suspended.id, '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/replayed 2 \(3 events\).*resumed/);
    await waitFor(() => table.get(suspended.id)?.status === 'active', { what: 'webhook active again' });
    expect(table.get(suspended.id)?.version).toBe(suspended.version + 1);
    const dispatched = await count(env.catalog.topics.dispatch.name);
    expect(dispatched.map((v) => JSON.parse(v).event_id)).toEqual(['ev-suspended-1']);
    await waitFor(() => received(letters.s1!.batch!.batch_id) === 1, {
      what: 'the suspended webhook batch delivered',
    });
  });
});
