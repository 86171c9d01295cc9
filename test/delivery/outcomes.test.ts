/**
 * Delivery outcomes end to end against the real broker and a local receiver: retries through short
 * tiers (200ms, 500ms, 1s), exhaustion to the DLQ and suspension, 410, SSRF refusal, Retry-After.
 */
import { createHmac } from 'node:crypto';
import type { AttemptRecord, DeadLetter, OperationalNotice, RetryRecord } from '@hookpost/contracts';
import { HEADERS } from '@hookpost/kafka';
import type { Receiver } from '@hookpost/sender';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { describe, expect } from 'vitest';
import { waitFor } from '../support/env.ts';
import type { Tail } from '../support/pipeline.ts';
import { deliveryTest, makeBatch, percentile, suspenderPast, TEST_TIERS } from './support.ts';

const it = deliveryTest({ partitions: 3 });
let attempts: Tail<AttemptRecord>;
let dlq: Tail<DeadLetter>;
let notices: Tail<OperationalNotice>;
const retries: Tail<RetryRecord>[] = [];

it.beforeAll(async ({ env, tailOf }) => {
  attempts = await tailOf<AttemptRecord>(env.catalog.topics.attempts.name);
  dlq = await tailOf<DeadLetter>(env.catalog.topics.dlq.name);
  notices = await tailOf<OperationalNotice>(env.catalog.topics.operational.name);
  for (const t of TEST_TIERS) retries.push(await tailOf<RetryRecord>(env.catalog.retryTopic(t.name)));
});

const requestsFor = (receiver: Receiver, id: string) =>
  receiver.requests.filter((r) => r.headers['webhook-id'] === id);

describe('delivery outcomes', () => {
  it('delivers after failures, with the same webhook-id, fresh timestamps and signatures an independent verifier accepts', async ({
    receiver,
    register,
    batches,
  }) => {
    const w = await register('/fail/2/500/eventual');
    const batch = makeBatch(w, 4);
    await batches.send([batch]);
    await waitFor(() => requestsFor(receiver, batch.batch_id).some((r) => r.status === 200), {
      what: 'delivery',
    });
    const reqs = requestsFor(receiver, batch.batch_id);
    expect(reqs.map((r) => r.status)).toEqual([500, 500, 200]);
    const secret = w.secrets[0]!.value;
    for (const r of reqs) {
      expect(r.body).toBe(batch.body);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['user-agent']).toMatch(/^hookpost\//);
      // MailerSend's recipe, written out here: hex HMAC-SHA256 of the raw body keyed with the secret.
      expect(r.headers.signature).toBe(createHmac('sha256', secret).update(r.body).digest('hex'));
      const ts = Number(r.headers['webhook-timestamp']);
      // Fresh per attempt: the timestamp is the attempt's own second, not the first attempt's.
      expect(Math.abs(ts - Math.floor(r.at / 1000))).toBeLessThanOrEqual(1);
      const verifier = new StandardWebhook(secret.slice('whsec_'.length));
      expect(() =>
        verifier.verify(r.body, {
          'webhook-id': String(r.headers['webhook-id']),
          'webhook-timestamp': String(r.headers['webhook-timestamp']),
          'webhook-signature': String(r.headers['webhook-signature']),
        }),
      ).not.toThrow();
    }
    // Retries waited their tiers: at least 200 ms, then at least 500 ms.
    expect(reqs[1]!.at - reqs[0]!.at).toBeGreaterThanOrEqual(200);
    expect(reqs[2]!.at - reqs[1]!.at).toBeGreaterThanOrEqual(500);
    await waitFor(() => attempts.values().filter((a) => a.batch_id === batch.batch_id).length === 3);
    const history = attempts.values().filter((a) => a.batch_id === batch.batch_id);
    expect(history.map((a) => [a.attempt, a.tier, a.outcome])).toEqual([
      [1, 'main', 'retry'],
      [2, '200ms', 'retry'],
      [3, '500ms', 'delivered'],
    ]);
    // Delivery read it (attempt 2 was made); the test's own tail of the tier may still be behind.
    const retry = await waitFor(() =>
      retries[0]!.records.find((r) => r.value.batch.batch_id === batch.batch_id),
    );
    expect(retry.value).toMatchObject({ attempt: 1, tier: '200ms', last_error: 'HTTP 500' });
    expect(retry.headers[HEADERS.dueAt]).toBe(String(retry.value.due_at));
  });

  it('after the last tier: DLQ with every attempt, the webhook suspended, an operational notice', async ({
    receiver,
    delivery,
    register,
    batches,
  }) => {
    const w = await register('/status/500/exhaust');
    const batch = makeBatch(w, 2);
    await batches.send([batch]);
    const letter = await waitFor(() => dlq.values().find((d) => d.batch?.batch_id === batch.batch_id), {
      what: 'dead letter',
    });
    expect(letter.reason).toBe('exhausted');
    expect(letter.attempts.map((a) => [a.attempt, a.tier, a.status])).toEqual([
      [1, 'main', 500],
      [2, '200ms', 500],
      [3, '500ms', 500],
      [4, '1s', 500],
    ]);
    expect(letter.batch).toEqual(batch);
    await waitFor(() => delivery.table.get(w.id)?.status === 'suspended', { what: 'suspension' });
    expect(delivery.table.get(w.id)).toMatchObject({ status_reason: 'exhausted', version: w.version + 1 });
    // The suspender records when: no earlier than the dead letter that caused it.
    expect(delivery.table.get(w.id)?.status_changed_at).toBeGreaterThanOrEqual(letter.dead_at);
    const notice = await waitFor(() => notices.values().find((n) => n.webhook_id === w.id));
    expect(notice).toMatchObject({
      type: 'webhook.suspended',
      reason: 'exhausted',
      account_id: w.account_id,
      counts: { events: 2, attempts: 4 },
    });
    // A batch that arrives for the suspended webhook is kept in the DLQ, not sent.
    const later = makeBatch(w, 1);
    await batches.send([later]);
    const kept = await waitFor(() => dlq.values().find((d) => d.batch?.batch_id === later.batch_id));
    expect(kept.reason).toBe('suspended');
    expect(requestsFor(receiver, later.batch_id)).toHaveLength(0);
  });

  it('410 Gone dead-letters at once and suspends the webhook', async ({
    receiver,
    delivery,
    register,
    batches,
  }) => {
    const w = await register('/410');
    const batch = makeBatch(w);
    await batches.send([batch]);
    const letter = await waitFor(() => dlq.values().find((d) => d.batch?.batch_id === batch.batch_id));
    expect(letter).toMatchObject({ reason: 'gone', attempts: [{ attempt: 1, status: 410 }] });
    await waitFor(() => delivery.table.get(w.id)?.status_reason === 'gone', { what: 'suspended (gone)' });
    expect(requestsFor(receiver, batch.batch_id)).toHaveLength(1);
    await waitFor(() => notices.values().some((n) => n.webhook_id === w.id && n.reason === 'gone'));
  });

  it('refuses a webhook pointing into a private network (10.0.0.5): DLQ reason refused, nothing sent', async ({
    env,
    delivery,
    register,
    batches,
  }) => {
    const w = await register('/', { url: 'http://10.0.0.5:8080/hook' });
    const batch = makeBatch(w);
    await batches.send([batch]);
    const dead = await waitFor(() => dlq.records.find((d) => d.value.batch?.batch_id === batch.batch_id));
    const letter = dead.value;
    expect(letter.reason).toBe('refused');
    expect(letter.attempts).toHaveLength(1);
    expect(letter.error).toMatch(/private|refused|10\.0\.0\.5/i);
    // Refusal is per request, not a verdict on the webhook: it stays active, once the suspender has read
    // the letter (before that, "active" would hold whatever the suspender does with it).
    await suspenderPast(env, [dead]);
    expect(delivery.table.get(w.id)?.status).toBe('active');
  });

  it('honours Retry-After on 429: the next attempt comes no earlier than it asks', async ({
    receiver,
    register,
    batches,
  }) => {
    const w = await register('/429/2/1/ra');
    const batch = makeBatch(w);
    await batches.send([batch]);
    await waitFor(() => requestsFor(receiver, batch.batch_id).some((r) => r.status === 200), {
      what: 'delivery after 429',
    });
    const [first, second] = requestsFor(receiver, batch.batch_id);
    expect(first!.status).toBe(429);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(2000);
    // 2 s is longer than the 200 ms and 500 ms tiers: the batch went to the first tier that covers it.
    const retry = await waitFor(() =>
      retries.flatMap((t) => t.values()).find((r) => r.batch.batch_id === batch.batch_id),
    );
    expect(retry.tier).toBe('1s');
    expect(retry.due_at - retry.history[0]!.at).toBeGreaterThanOrEqual(2000);
  });

  it('reports due-time lateness of the retries above (p99)', async ({ receiver }) => {
    // Lateness measured from outside: the receiver's arrival time of attempt n+1 minus the due time
    // that the retry record of attempt n carried.
    const all = retries.flatMap((t) => t.values());
    const lateness: number[] = [];
    for (const r of all) {
      const reqs = requestsFor(receiver, r.batch.batch_id);
      const next = reqs[r.attempt];
      if (next) lateness.push(next.at - r.due_at);
    }
    expect(lateness.length).toBeGreaterThanOrEqual(5);
    expect(Math.min(...lateness)).toBeGreaterThanOrEqual(0);
    const p99 = percentile(lateness, 99);
    console.log(
      `due-time lateness over ${lateness.length} retries: p50 ${percentile(lateness, 50)} ms, p99 ${p99} ms`,
    );
    // How late (p99) is a figure, not a correctness bound: test/perf/lateness.perf.test.ts measures it.
  });
});
