/**
 * The read-only figures the console shows, against the real broker: a webhook's 24 h stats from the
 * attempt history, its dead letters by reason (with what a replay did), and the operators' overview.
 */
import type { DeadLetter } from '@hookpost/contracts';
import { provisionTopics, type SerialProducer } from '@hookpost/kafka';
import { describe, expect } from 'vitest';
import { batchDeadLetter } from '../support/dead-letters.ts';
import { waitFor } from '../support/env.ts';
import { makeAttempt } from '../support/factories.ts';
import { apiTest, suspendLikeDelivery, TOKENS } from './support.ts';

const it = apiTest({ webhook: { name: 'insights', domain: 'dom-insights' } });
const HOUR = 60 * 60 * 1000;

// The attempts topic is created once the API runs, the order this file has always used.
it.beforeAll(async ({ env, api: _api }) => {
  await provisionTopics(env.admin, [env.catalog.topics.attempts]);
});

const attempt = (webhook_id: string, at: number, status: number | null, latency_ms: number) =>
  makeAttempt(webhook_id, `${webhook_id}-b${at}`, {
    at,
    status,
    latency_ms,
    outcome: status === 200 ? 'delivered' : 'retry',
    error: status === null ? 'ECONNREFUSED' : null,
    response_excerpt: status === null ? null : `answered ${status}`,
    event_count: 2,
  });

const send = (producer: SerialProducer, topic: string, records: { webhook_id: string | null }[]) =>
  producer.send(
    topic,
    records.map((r) => ({ key: r.webhook_id ?? '', value: JSON.stringify(r) })),
  );

describe('webhook stats over 24 h', () => {
  it('counts attempts and 2xx answers, takes the nearest-rank p95 and names the last attempt; older ones are out', async ({
    env,
    api,
    create,
    producer,
  }) => {
    const w = await create();
    const empty = await api.call('GET', `/v1/webhooks/${w.id}/stats`);
    expect(empty.body.data).toEqual({
      window_hours: 24,
      attempts: 0,
      delivered: 0,
      success_rate: null,
      p95_latency_ms: null,
      last_attempt: null,
    });
    const now = Date.now();
    await send(producer, env.catalog.topics.attempts.name, [
      attempt(w.id, now - 25 * HOUR, 200, 9_999),
      attempt(w.id, now - 3_000, 200, 10),
      attempt(w.id, now - 2_000, 503, 40),
      attempt(w.id, now - 1_000, 200, 20),
    ]);
    const stats = await waitFor(
      async () => {
        const r = await api.call('GET', `/v1/webhooks/${w.id}/stats`);
        return r.body.data.attempts === 3 ? r.body.data : undefined;
      },
      { what: 'three attempts in the window' },
    );
    expect(stats).toMatchObject({ delivered: 2, success_rate: 0.6667, p95_latency_ms: 40 });
    expect(stats.last_attempt).toMatchObject({
      status: 200,
      latency_ms: 20,
      batch_id: `${w.id}-b${now - 1_000}`,
    });
    // Another domain's token cannot learn the figures exist.
    expect((await api.call('GET', `/v1/webhooks/${w.id}/stats`, undefined, TOKENS.scoped)).status).toBe(404);
  });
});

describe('dead letters of a webhook', () => {
  it('counts by reason, lists newest first up to the limit, and shows what a replay re-enqueued', async ({
    env,
    api,
    create,
    producer,
  }) => {
    const w = await create();
    const other = await create();
    // Whole seconds, so that the resend range (in seconds) splits them exactly.
    const now = Math.floor(Date.now() / 1000) * 1000;
    const letters: DeadLetter[] = [
      batchDeadLetter(w.id, now - 6_000, 2),
      batchDeadLetter(w.id, now - 4_000, 1),
      { ...batchDeadLetter(w.id, now - 2_000, 4), reason: 'gone', error: 'HTTP 410' },
      batchDeadLetter(other.id, now, 1),
    ];
    await send(producer, env.catalog.topics.dlq.name, letters);
    const url = `/v1/webhooks/${w.id}/dead-letters`;
    const first = await waitFor(
      async () => {
        const r = await api.call('GET', url);
        return r.body.data.total === 3 ? r.body.data : undefined;
      },
      { what: 'three dead letters' },
    );
    expect(first.by_reason).toEqual([
      expect.objectContaining({ reason: 'exhausted', count: 2, events: 3 }),
      expect.objectContaining({ reason: 'gone', count: 1, events: 4 }),
    ]);
    expect(first.letters.map((l: { dlq_id: string }) => l.dlq_id)).toEqual(
      [letters[2]!, letters[1]!, letters[0]!].map((l) => l.dlq_id),
    );
    expect(first.letters[0]).toMatchObject({
      reason: 'gone',
      error: 'HTTP 410',
      events: 4,
      replayed_at: null,
    });
    const limited = await api.call('GET', `${url}?limit=1`);
    expect(limited.body.data).toMatchObject({ total: 3 });
    expect(limited.body.data.letters).toHaveLength(1);
    for (const bad of ['0', '501', 'x', '-1']) {
      const r = await api.call('GET', `${url}?limit=${bad}`);
      expect(r.status, bad).toBe(422);
      expect(Object.keys(r.body.errors)).toEqual(['limit']);
    }

    // A dry run over the older two says what would be sent and sends nothing.
    const range = { date_from: (now - 6_000) / 1000, date_to: (now - 2_000) / 1000 };
    const dry = await api.call('POST', `/v1/webhooks/${w.id}/resend`, { ...range, dry_run: true });
    expect(dry.body.data).toMatchObject({ dry_run: true, matched: 2, replayed: 2, events: 3 });
    expect(dry.body.data.items.map((i: { outcome: string }) => i.outcome)).toEqual(['batches', 'batches']);
    expect(
      (await api.call('GET', url)).body.data.letters.every((l: { replayed_at: null }) => !l.replayed_at),
    ).toBe(true);
    const real = await api.call('POST', `/v1/webhooks/${w.id}/resend`, range);
    expect(real.body.data).toMatchObject({ dry_run: false, matched: 2, replayed: 2, events: 3 });
    const after = (await api.call('GET', url)).body.data;
    expect(after.letters.map((l: { replayed_at: string | null }) => l.replayed_at !== null)).toEqual([
      false,
      true,
      true,
    ]);
    const again = await api.call('POST', `/v1/webhooks/${w.id}/resend`, { ...range, dry_run: true });
    expect(again.body.data.items.map((i: { outcome: string }) => i.outcome)).toEqual([
      'already_replayed',
      'already_replayed',
    ]);
    expect((await api.call('GET', url, undefined, TOKENS.scoped)).status).toBe(404);
  });
});

describe('the operators’ overview', () => {
  it('needs a token for every domain: a customer token gets 403, a read-only operator token reads it', async ({
    api,
  }) => {
    const scoped = await api.call('GET', '/v1/overview', undefined, TOKENS.scoped);
    expect(scoped.status).toBe(403);
    expect(scoped.body.data).toBeUndefined();
    expect((await api.call('GET', '/v1/overview', undefined, TOKENS.reader)).status).toBe(200);
    expect((await api.call('GET', '/v1/overview', undefined, null)).status).toBe(401);
  });

  it('shows lag per stage, suspended webhooks with their reason, 24 h success and DLQ growth', async ({
    env,
    api,
    create,
    producer,
  }) => {
    const w = await create();
    const suspended = await suspendLikeDelivery(env, api, w.id, 'gone');
    const legacy = await create();
    const legacyDoc = await suspendLikeDelivery(env, api, legacy.id, 'exhausted', true);
    const now = Date.now();
    await send(producer, env.catalog.topics.dlq.name, [
      batchDeadLetter(w.id, now - 2 * HOUR),
      batchDeadLetter(w.id, now),
    ]);
    // The delivery group committed at the end of webhooks.batches, then two batches arrive: lag 2.
    const batches = env.catalog.topics.batches.name;
    const ends = await env.admin.fetchTopicOffsets(batches);
    await env.admin.setOffsets({
      groupId: `${env.prefix}hookpost-delivery`,
      topic: batches,
      partitions: ends.map((e) => ({ partition: e.partition, offset: e.high })),
    });
    await producer.send(batches, [
      { partition: 0, value: '{}' },
      { partition: 1, value: '{}' },
    ]);
    const res = await api.call('GET', '/v1/overview');
    expect(res.status).toBe(200);
    const o = res.body.data;
    expect(o.stages).toEqual([
      // email.events not created in this suite: of the two groups that read it in turn, the default.
      expect.objectContaining({
        stage: 'batcher',
        group: `${env.prefix}hookpost-batcher.events`,
        lag: null,
        note: 'topic not found',
      }),
      // Nothing committed on an empty webhooks.dispatch: nothing to be behind on.
      expect.objectContaining({
        stage: 'batcher',
        group: `${env.prefix}hookpost-batcher`,
        lag: 0,
        note: null,
      }),
      expect.objectContaining({
        stage: 'delivery',
        group: `${env.prefix}hookpost-delivery`,
        lag: 2,
        note: null,
      }),
    ]);
    expect(o.suspended).toContainEqual(
      expect.objectContaining({
        id: w.id,
        reason: 'gone',
        domain_id: w.domain_id,
        since: new Date(suspended.status_changed_at!).toISOString(),
        since_recorded: true,
      }),
    );
    // A document from before status_changed_at: its last write stands in, and says so.
    expect(o.suspended).toContainEqual(
      expect.objectContaining({
        id: legacy.id,
        since: new Date(legacyDoc.updated_at).toISOString(),
        since_recorded: false,
      }),
    );
    expect((await api.call('GET', `/v1/webhooks/${legacy.id}`)).body.data.status_changed_at).toBeNull();
    expect(o.webhooks.suspended).toBeGreaterThanOrEqual(1);
    // Earlier tests in this file wrote 4 more dead letters, all within the hour.
    expect(o.dead_letters).toMatchObject({ total: 6, last_hour: 5, last_24h: 6 });
    expect(o.dead_letters.by_reason).toEqual({ exhausted: 5, gone: 1 });
    expect(o.delivery.attempts).toBeGreaterThanOrEqual(3);
    expect(o.grafana_url).toMatch(/^http/);
  });
});

describe('the pages’ figures come from the index, not a read of the DLQ per visit', () => {
  it('visits read no record and start no reader; a new dead letter is read once and shows at the next visit', async ({
    env,
    api,
    create,
    producer,
  }) => {
    const w = await create();
    await send(producer, env.catalog.topics.dlq.name, [batchDeadLetter(w.id, Date.now() - 1_000)]);
    const url = `/v1/webhooks/${w.id}/dead-letters`;
    await waitFor(async () => (await api.call('GET', url)).body.data.total === 1, {
      what: 'one dead letter',
    });
    // A read of the topic is a consumer group of the API's (readToEnd's `-read-` groups): count them.
    const readers = async () =>
      (await env.admin.listGroups()).groups.filter((g) =>
        g.groupId.startsWith(`${env.prefix}hookpost-api-read-`),
      ).length;
    const [records, groups] = [api.api.deadLetterRecordsRead(), await readers()];
    for (let i = 0; i < 5; i++) {
      expect((await api.call('GET', url)).body.data.total).toBe(1);
      expect((await api.call('GET', '/v1/overview')).status).toBe(200);
    }
    expect(api.api.deadLetterRecordsRead()).toBe(records);
    expect(await readers()).toBe(groups);
    // A dry run does read the DLQ (a replay must see every record): the count above can move.
    await api.call('POST', `/v1/webhooks/${w.id}/resend`, { dry_run: true });
    expect(await readers()).toBeGreaterThan(groups);
    const gone: DeadLetter = { ...batchDeadLetter(w.id, Date.now()), reason: 'gone' };
    await send(producer, env.catalog.topics.dlq.name, [gone]);
    const next = (await api.call('GET', url)).body.data;
    expect(next.total).toBe(2);
    expect(next.letters[0].reason).toBe('gone');
    expect(api.api.deadLetterRecordsRead()).toBe(records + 1);
  });
});
