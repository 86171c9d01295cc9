/**
 * A replay run as a job, against the real broker: POST /replays answers 202 at once, GET /replays/{job}
 * moves from reading to sending (selected known, sent growing) to done with the same summary /resend
 * gives; a second replay of the webhook while one runs is refused; a job is reached only through its
 * own webhook and by a token that sees that webhook.
 */
import type { DeadLetter } from '@hookpost/contracts';
import type { SerialProducer } from '@hookpost/kafka';
import { describe, expect } from 'vitest';
import { batchDeadLetter } from '../support/dead-letters.ts';
import type { TestEnv } from '../support/env.ts';
import { waitFor } from '../support/env.ts';
import { apiTest, type startTestApi, suspendLikeDelivery, TOKENS } from './support.ts';

const it = apiTest({ webhook: { name: 'replayed', domain: 'dom-jobs' } });

async function seed(
  {
    env,
    api,
    producer,
  }: { env: TestEnv; api: Awaited<ReturnType<typeof startTestApi>>; producer: SerialProducer },
  webhookId: string,
  n: number,
): Promise<DeadLetter[]> {
  const now = Date.now() - 60_000;
  const letters = Array.from({ length: n }, (_, i) => batchDeadLetter(webhookId, now + i));
  await producer.send(
    env.catalog.topics.dlq.name,
    letters.map((l) => ({ key: webhookId, value: JSON.stringify(l) })),
  );
  await waitFor(
    async () => (await api.call('GET', `/v1/webhooks/${webhookId}/dead-letters`)).body.data.total === n,
    { what: `${n} dead letters held` },
  );
  return letters;
}

describe('a replay as a job', () => {
  it('answers 202, shows selected and sent growing while it runs, then the true summary', async ({
    env,
    api,
    create,
    producer,
  }) => {
    const w = await create();
    await seed({ env, api, producer }, w.id, 60);
    // 20 a second: chunks of 4, three seconds in all, so the job is seen between its first and last chunk.
    const started = await api.call('POST', `/v1/webhooks/${w.id}/replays`, { rate_per_sec: 20 });
    expect(started.status).toBe(202);
    const job = started.body.data;
    expect(job).toMatchObject({ webhook_id: w.id, done: false, sent: 0, summary: null });
    expect(['reading', 'sending']).toContain(job.state);
    const at = `/v1/webhooks/${w.id}/replays/${job.id}`;
    expect(started.headers.get('location')).toBe(at);

    // While it runs: a second replay of the same webhook is refused.
    const twice = await api.call('POST', `/v1/webhooks/${w.id}/replays`, {});
    expect(twice.status).toBe(409);
    expect(twice.body.message).toMatch(/running/);

    const seen: { state: string; sent: number; selected: number | null }[] = [];
    const done = await waitFor(
      async () => {
        const r = await api.call('GET', at);
        expect(r.status).toBe(200);
        seen.push(r.body.data);
        return r.body.data.done ? r.body.data : undefined;
      },
      { timeoutMs: 60_000, what: 'the job done' },
    );
    const midway = seen.filter((p) => p.state === 'sending' && p.sent > 0 && p.sent < 60);
    expect(midway.length, JSON.stringify(seen)).toBeGreaterThan(0);
    expect(midway.every((p) => p.selected === 60)).toBe(true);
    expect(done).toMatchObject({ state: 'done', selected: 60, sent: 60, skipped: 0, error: null });
    expect(done.summary).toMatchObject({ dry_run: false, matched: 60, replayed: 60, events: 60 });
    // What the ledger now says: all 60 were replayed, and a new job selects none of them.
    const again = await api.call('POST', `/v1/webhooks/${w.id}/replays`, {});
    expect(again.status).toBe(202);
    const second = await waitFor(async () => {
      const r = await api.call('GET', `/v1/webhooks/${w.id}/replays/${again.body.data.id}`);
      return r.body.data.done ? r.body.data : undefined;
    });
    expect(second).toMatchObject({ state: 'done', selected: 0, sent: 0, skipped: 60 });
    expect(second.summary.skipped).toMatchObject({ already_replayed: 60 });
  });

  it('is reached through its own webhook only, by a token that sees it; a suspended webhook is refused', async ({
    env,
    api,
    create,
    producer,
  }) => {
    const w = await create();
    const other = await create();
    await seed({ env, api, producer }, w.id, 1);
    const started = await api.call('POST', `/v1/webhooks/${w.id}/replays`, { dry_run: true });
    expect(started.status).toBe(202);
    const id = started.body.data.id as string;
    const done = await waitFor(async () => {
      const r = await api.call('GET', `/v1/webhooks/${w.id}/replays/${id}`);
      return r.body.data.done ? r.body.data : undefined;
    });
    expect(done.summary).toMatchObject({ dry_run: true, matched: 1, replayed: 1 });
    expect(done.sent).toBe(0);
    for (const [path, token] of [
      [`/v1/webhooks/${other.id}/replays/${id}`, TOKENS.backend],
      [`/v1/webhooks/${w.id}/replays/${id}`, TOKENS.scoped],
      [`/v1/webhooks/${w.id}/replays/no-such-job`, TOKENS.backend],
    ] as const) {
      const r = await api.call('GET', path, undefined, token);
      expect(r.status, path).toBe(404);
      expect(r.body.data).toBeUndefined();
    }
    expect((await api.call('GET', `/v1/webhooks/${w.id}/replays/${id}`, undefined, null)).status).toBe(401);
    expect((await api.call('POST', `/v1/webhooks/${w.id}/replays`, {}, TOKENS.reader)).status).toBe(403);

    await suspendLikeDelivery(env, api, w.id, 'exhausted');
    const refused = await api.call('POST', `/v1/webhooks/${w.id}/replays`, {});
    expect(refused.status).toBe(409);
    expect(refused.body.message).toMatch(/suspended/);
    const bad = await api.call('POST', `/v1/webhooks/${w.id}/replays`, { rate_per_sec: 0 });
    expect(bad.status).toBe(422);
    expect(Object.keys(bad.body.errors)).toEqual(['rate_per_sec']);
  });
});
