/**
 * Bounded in-flight work: the partition window caps concurrent requests of a partition (records past
 * it wait in memory, and the partition is paused once 16 windows are tracked), and the per-endpoint
 * limit caps concurrent requests to one origin.
 */
import type { Webhook } from '@hookpost/contracts';
import { describe, expect } from 'vitest';
import { waitFor } from '../support/env.ts';
import { makeWebhook } from '../support/webhooks.ts';
import { deliveryTest, makeBatch } from './support.ts';

const SLOW_MS = 300;

/** Highest number of requests in flight at once, given arrivals and a fixed service time. */
function maxOverlap(arrivals: number[], serviceMs: number): number {
  const events = arrivals.flatMap((a) => [
    [a, 1],
    [a + serviceMs, -1],
  ]);
  events.sort((x, y) => x[0]! - y[0]! || x[1]! - y[1]!);
  let cur = 0;
  let max = 0;
  for (const [, d] of events) {
    cur += d!;
    max = Math.max(max, cur);
  }
  return max;
}

/**
 * Each test its own set-up (topics, receiver, subscriptions, delivery with these limits, a batch
 * producer), as the fixtures of its own `deliveryTest`: opened when the test asks, closed after the file.
 */
const limited = (
  overrides: {
    partitionWindow: number;
    perEndpoint: number;
    maxInFlightBytes?: number;
    slowRequestMs?: number;
  },
  partitions = 1,
) =>
  deliveryTest({
    partitions,
    overrides: { ...overrides, roles: { main: true, suspender: false, tiers: [] } },
    inProcess: false,
  });

// Records of one size: a 20 kB body and ids of one length.
const big = (w: Webhook) => ({
  ...makeBatch(w, 1),
  body: JSON.stringify([{ pad: 'x'.repeat(20_000) }]),
});
const size = Buffer.byteLength(JSON.stringify(big(makeWebhook({}))));

// At the top level, as vitest wants file-scoped fixtures defined.
const windowed = limited({ partitionWindow: 4, perEndpoint: 16 });
// Slow-request release off: the limit alone (`slow` has it on).
const perEndpoint = limited({ partitionWindow: 64, perEndpoint: 2, slowRequestMs: 0 });
const slow = limited({ partitionWindow: 64, perEndpoint: 2, slowRequestMs: 250 });
const bytes = (
  [
    // at the limit (two records fit), just past it, far past it (one record alone is over it)
    ['at', 2, 2],
    ['just past', 1.5, 2],
    ['far past', 0.1, 1],
  ] as const
).map(
  ([label, records, most]) =>
    [
      label,
      most,
      limited({ partitionWindow: 64, perEndpoint: 16, maxInFlightBytes: Math.round(records * size) }, 3),
    ] as const,
);

describe('backpressure', () => {
  windowed(
    'never more than the window in flight; past 16 windows tracked the partition pauses',
    async ({ receiver, delivery, batches, register }) => {
      const serviceMs = 150;
      const webhooks = await Promise.all(
        Array.from({ length: 8 }, (_, i) => register(`/slow/${serviceMs}/w${i}`)),
      );
      let pausedSeen = 0;
      const probe = setInterval(async () => {
        const g = await delivery.metrics.paused.get();
        pausedSeen = Math.max(pausedSeen, ...g.values.map((v) => v.value));
      }, 20);
      // 80 records: 4 in flight, 60 queued behind them (64 tracked), the rest left in Kafka.
      const n = 80;
      await batches.send(Array.from({ length: n }, (_, i) => makeBatch(webhooks[i % 8]!, 1)));
      await waitFor(() => receiver.requests.length === n, { what: 'all delivered' });
      clearInterval(probe);
      const concurrency = maxOverlap(
        receiver.requests.map((r) => r.at),
        serviceMs,
      );
      console.log(
        `partition window 4: max ${concurrency} concurrent requests; paused partitions seen ${pausedSeen}`,
      );
      expect(concurrency).toBeLessThanOrEqual(4);
      expect(concurrency).toBeGreaterThanOrEqual(3);
      expect(pausedSeen).toBe(1);
    },
  );

  perEndpoint(
    'the per-endpoint limit caps requests to one origin while the partition goes on',
    async ({ receiver, batches, register }) => {
      const webhooks = await Promise.all(
        Array.from({ length: 6 }, (_, i) => register(`/slow/${SLOW_MS}/e${i}`)),
      );
      await batches.send(Array.from({ length: 12 }, (_, i) => makeBatch(webhooks[i % 6]!, 1)));
      await waitFor(() => receiver.requests.length === 12, { what: 'all delivered' });
      const concurrency = maxOverlap(
        receiver.requests.map((r) => r.at),
        SLOW_MS,
      );
      expect(concurrency).toBeLessThanOrEqual(2);
      expect(concurrency).toBe(2);
    },
  );

  slow(
    'requests past the slow threshold free their slots, within twice the limit',
    async ({ receiver, batches, register }) => {
      const serviceMs = 1_500;
      const webhooks = await Promise.all(
        Array.from({ length: 6 }, (_, i) => register(`/slow/${serviceMs}/s${i}`)),
      );
      await batches.send(Array.from({ length: 12 }, (_, i) => makeBatch(webhooks[i % 6]!, 1)));
      await waitFor(() => receiver.requests.length === 12, { what: 'all delivered' });
      const concurrency = maxOverlap(
        receiver.requests.map((r) => r.at),
        serviceMs,
      );
      // Two run; past 250 ms they are slow and two more start; then the cap (4) holds, the two
      // past the threshold keeping their slots until a slow one ends.
      expect(concurrency).toBeGreaterThan(2);
      expect(concurrency).toBeLessThanOrEqual(4);
    },
  );

  for (const [label, most, bytesTest] of bytes)
    bytesTest(
      `the bytes in flight, ${label} the limit, cap records in flight across partitions`,
      async ({ receiver, batches, register }) => {
        const webhooks = await Promise.all(
          Array.from({ length: 6 }, (_, i) => register(`/slow/${SLOW_MS}/b${i}`)),
        );
        await batches.send(Array.from({ length: 12 }, (_, i) => big(webhooks[i % 6]!)));
        await waitFor(() => receiver.requests.length === 12, { what: 'all delivered' });
        const concurrency = maxOverlap(
          receiver.requests.map((r) => r.at),
          SLOW_MS,
        );
        expect(concurrency).toBeLessThanOrEqual(most);
        expect(concurrency).toBeGreaterThanOrEqual(1);
      },
    );
});
