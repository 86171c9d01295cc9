/**
 * Per-webhook rate limit (`rate_limit.per_second`) and the receiver's 429 Retry-After, on the real
 * broker, with a receiver that records when each request arrives. Everything shares one partition, so
 * the limited webhook's waiting batches sit in the same window as an unlimited neighbour's.
 */
import type { AttemptRecord } from '@hookpost/contracts';
import type { Receiver } from '@hookpost/sender';
import { describe, expect } from 'vitest';
import { waitFor } from '../support/env.ts';
import { tail } from '../support/pipeline.ts';
import { deliveryTest, makeBatch, TEST_TIERS } from './support.ts';

const it = deliveryTest({ overrides: { roles: { main: true, suspender: false, tiers: TEST_TIERS } } });

/** Arrival times (ms) of the requests to one receiver path (one webhook each here), in order. */
const arrivals = (receiver: Receiver, path: string) =>
  receiver.requests
    .filter((r) => r.path === path)
    .map((r) => r.at)
    .sort((x, y) => x - y);

/** The most arrivals within any one second. */
function peakPerSecond(times: number[]): number {
  let peak = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= 1000) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return peak;
}

describe('per-webhook rate limit', () => {
  it('a webhook at 5/s gets at most burst + rate in any second, every batch arrives, its neighbour is not held', async ({
    receiver,
    register,
    batches,
    delivery,
  }) => {
    const limited = await register('/ok/limited', { rate_limit: { per_second: 5 } });
    const free = await register('/ok/free');
    const mine = Array.from({ length: 40 }, () => makeBatch(limited, 2));
    const theirs = Array.from({ length: 20 }, () => makeBatch(free, 2));
    // Interleaved on the one partition: two of the limited webhook's, then one of the free one's.
    const sentAt = Date.now();
    await batches.send(mine.flatMap((b, i) => (i % 2 === 1 ? [b, theirs[(i - 1) / 2]!] : [b])));

    const delivered = (id: string) =>
      receiver.requests.some((r) => r.headers['webhook-id'] === id && r.status === 200);
    await waitFor(() => theirs.every((b) => delivered(b.batch_id)), { what: 'the free webhook delivered' });
    // The free webhook was not made to wait for the limited one: most of the limited one still waits.
    expect(mine.filter((b) => delivered(b.batch_id)).length).toBeLessThan(mine.length / 2);
    expect((await delivery.metrics.rateWaiting.get()).values[0]?.value).toBeGreaterThan(0);

    await waitFor(() => mine.every((b) => delivered(b.batch_id)), { what: 'every limited batch delivered' });
    const times = arrivals(receiver, '/ok/limited');
    expect(times).toHaveLength(mine.length);
    // Burst of floor(5) after an idle second, then one every 200 ms: never more than 5 + 5 in a second.
    expect(peakPerSecond(times)).toBeLessThanOrEqual(10);
    // And the rate holds over the run: 40 requests, 5 at once, the other 35 at 5 per second.
    // (From before the batches were produced: the first arrival may land later than its departure.)
    expect(times.at(-1)! - sentAt).toBeGreaterThanOrEqual(((mine.length - 5) / 5) * 1000);
    expect((await delivery.metrics.rateLimited.get()).values[0]?.value).toBeGreaterThanOrEqual(30);
  });

  it('a 429 with Retry-After holds the webhook until then and slows it; nothing is lost', async ({
    env,
    receiver,
    register,
    batches,
  }) => {
    const attempts = await tail<AttemptRecord>(env, env.catalog.topics.attempts.name);
    // The first request answers 429 with Retry-After: 2, every later one 200.
    const hook = await register('/429/2/1/slowdown', { rate_limit: { per_second: 1 } });
    const list = Array.from({ length: 4 }, () => makeBatch(hook, 1));
    await batches.send(list);
    await waitFor(
      () =>
        list.every((b) =>
          attempts.values().some((a) => a.batch_id === b.batch_id && a.outcome === 'delivered'),
        ),
      { what: 'all four delivered, the 429 one through a retry tier' },
    );
    const times = arrivals(receiver, '/429/2/1/slowdown');
    const first = receiver.requests.find((r) => r.path === '/429/2/1/slowdown' && r.status === 429)!;
    expect(first).toBeDefined();
    expect(times).toHaveLength(5);
    // Nothing reached the endpoint within the 2 s it asked for.
    for (const t of times.filter((t) => t !== first.at)) expect(t - first.at).toBeGreaterThanOrEqual(2000);
    // After the 429 the rate is halved (one per 2 s): the later requests are at least ~2 s apart.
    const later = times.filter((t) => t !== first.at);
    for (let i = 1; i < later.length; i++) expect(later[i]! - later[i - 1]!).toBeGreaterThanOrEqual(1900);
    await attempts.close();
  });
});
