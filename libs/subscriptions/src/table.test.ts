import { SecretBox, sealWebhook, type Webhook } from '@hookpost/contracts';
import type { Kafka } from '@hookpost/kafka';
import { createLogger } from '@hookpost/logger';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SubscriptionTable } from './table.ts';

const box = new SecretBox(SecretBox.generateSpec());
const webhook = (version: number, over: Partial<Webhook> = {}): Webhook => ({
  id: 'wh1',
  account_id: 'a',
  domain_id: 'd',
  name: 'n',
  url: 'https://example.com/hook',
  events: ['activity.delivered'],
  enabled: true,
  status: 'suspended',
  status_reason: 'exhausted',
  secrets: [{ value: `whsec_${Buffer.alloc(32, 1).toString('base64')}`, created_at: 1, expires_at: null }],
  format: 'json',
  batch: { max_events: 500, window_ms: 30_000 },
  timeout_ms: 10_000,
  auth: null,
  created_at: 1,
  updated_at: 1,
  version,
  ...over,
});

/**
 * A table that is never started: records are handed to it as its reader would (the private `apply`),
 * so what waitForVersion makes of each one is checked without a broker.
 */
function table(kafka = {} as Kafka) {
  const t = new SubscriptionTable({
    kafka,
    topic: 'subs',
    box,
    logger: createLogger({ name: 't', level: 'silent' }),
  });
  let offset = 0;
  const feed = (id: string, w: Webhook | null) =>
    (t as unknown as { apply(k: Buffer, v: Buffer | null, p: number, o: string): void }).apply(
      Buffer.from(id),
      w ? Buffer.from(JSON.stringify(sealWebhook(box, w))) : null,
      0,
      String(offset++),
    );
  /** What the reader reports after each fetch: everything up to `offset` of partition 0 handed on. */
  const progress = (offset: number) =>
    (t as unknown as { advance(p: number, o: number): void }).advance(0, offset);
  return { t, feed, progress };
}

/** A broker whose subscriptions topic ends at `high()` on partition 0 (or whose offsets request fails). */
function broker(high: () => number | Error) {
  let asked = 0;
  const kafka = {
    admin: () => ({
      connect: async () => {},
      disconnect: async () => {},
      fetchTopicOffsets: async () => {
        asked += 1;
        const h = high();
        if (h instanceof Error) throw h;
        return [{ partition: 0, low: '0', high: String(h), offset: String(h) }];
      },
    }),
  } as unknown as Kafka;
  return { kafka, asked: () => asked };
}

describe('SubscriptionTable.waitForVersion', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resolves true at once when the table already holds that version or a later one', async () => {
    const { t, feed } = table();
    feed('wh1', webhook(4));
    await expect(t.waitForVersion('wh1', 4, 10)).resolves.toBe(true);
    await expect(t.waitForVersion('wh1', 2, 10)).resolves.toBe(true);
  });

  it('resolves true when the version arrives, not before; other webhooks and older versions do not count', async () => {
    const { t, feed } = table();
    feed('wh1', webhook(3));
    let settled: boolean | undefined;
    const waiting = t.waitForVersion('wh1', 5, 60_000).then((r) => {
      settled = r;
    });
    feed('wh2', webhook(9, { id: 'wh2' }));
    feed('wh1', webhook(4));
    feed('wh1', webhook(2)); // stale: ignored
    await Promise.resolve();
    expect(settled).toBeUndefined();
    feed('wh1', webhook(6, { status: 'active' }));
    await waiting;
    expect(settled).toBe(true);
    expect(t.get('wh1')?.status).toBe('active');
  });

  it('resolves true on a tombstone: nothing newer will come, the caller finds the webhook gone', async () => {
    const { t, feed } = table();
    feed('wh1', webhook(3));
    const waiting = t.waitForVersion('wh1', 4, 60_000);
    feed('wh1', null);
    await expect(waiting).resolves.toBe(true);
    expect(t.get('wh1')).toBeUndefined();
  });

  it('resolves false after the timeout, and a later record finds no waiter left', async () => {
    vi.useFakeTimers();
    const { t, feed } = table();
    feed('wh1', webhook(3));
    const waiting = t.waitForVersion('wh1', 4, 1_000);
    await vi.advanceTimersByTimeAsync(999);
    feed('wh1', webhook(3, { name: 'renamed' }));
    await vi.advanceTimersByTimeAsync(1);
    await expect(waiting).resolves.toBe(false);
    expect(() => feed('wh1', webhook(4))).not.toThrow();
  });

  it('rejects with an AbortError when its signal aborts, at once if aborted already', async () => {
    const { t } = table();
    const stop = new AbortController();
    const waiting = t.waitForVersion('wh1', 4, 60_000, stop.signal);
    stop.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    await expect(t.waitForVersion('wh1', 4, 60_000, stop.signal)).rejects.toMatchObject({
      name: 'AbortError',
    });
  });
});

describe('SubscriptionTable.settle', () => {
  it("resolves only once the table has read as far as the topic's end when asked, then holds the webhook", async () => {
    const b = broker(() => 3);
    const { t, feed, progress } = table(b.kafka);
    let done: boolean | undefined;
    const settling = t.settle('wh1', 60_000).then((r) => {
      done = r;
    });
    feed('wh0', webhook(1, { id: 'wh0' }));
    feed('wh1', webhook(1));
    progress(1);
    await new Promise((r) => setImmediate(r));
    expect(done).toBeUndefined();
    feed('wh2', webhook(1, { id: 'wh2' }));
    progress(2);
    await settling;
    expect(done).toBe(true);
    expect(t.get('wh1')).toMatchObject({ id: 'wh1' });
  });

  it('answers at once for a webhook the table holds or saw deleted, without asking the broker', async () => {
    const b = broker(() => 10);
    const { t, feed } = table(b.kafka);
    feed('wh1', webhook(1));
    feed('wh2', webhook(1, { id: 'wh2' }));
    feed('wh2', null);
    await expect(t.settle('wh1')).resolves.toBe(false);
    await expect(t.settle('wh2')).resolves.toBe(false);
    expect(b.asked()).toBe(0);
    // Created again after its tombstone (a restored document): a later tombstone is remembered again.
    feed('wh2', webhook(2, { id: 'wh2' }));
    expect(t.get('wh2')).toMatchObject({ version: 2 });
  });

  it('resolves false when the table does not get there in time, or the broker cannot be asked', async () => {
    const slow = table(broker(() => 100).kafka);
    await expect(slow.t.settle('wh1', 20)).resolves.toBe(false);
    const down = table(broker(() => Object.assign(new Error('broker down'), { retriable: false })).kafka);
    await expect(down.t.settle('wh1', 50)).resolves.toBe(false);
  });

  it('callers arriving during a catch-up share the next one, which asks for the end after they came', async () => {
    let end = 1;
    const b = broker(() => end);
    const { t, feed, progress } = table(b.kafka);
    feed('wh0', webhook(1, { id: 'wh0' }));
    const first = t.settle('a', 60_000);
    await new Promise((r) => setImmediate(r));
    expect(b.asked()).toBe(1);
    // Written after the first catch-up asked: only the next one waits for it.
    feed('wh1', webhook(1));
    end = 2;
    const later = Array.from({ length: 5000 }, (_, i) => t.settle(`x${i}`, 60_000));
    progress(0);
    await expect(first).resolves.toBe(true);
    let shared = 0;
    void Promise.all(later).then(() => {
      shared = later.length;
    });
    await new Promise((r) => setImmediate(r));
    expect(shared).toBe(0);
    progress(1);
    expect(await Promise.all(later)).toEqual(later.map(() => true));
    expect(shared).toBe(5000);
    expect(b.asked()).toBe(2);
  });
});
