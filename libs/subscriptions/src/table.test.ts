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
function table() {
  const t = new SubscriptionTable({
    kafka: {} as Kafka,
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
  return { t, feed };
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
