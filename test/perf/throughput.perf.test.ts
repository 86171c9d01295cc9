/**
 * Deliveries per second to a local receiver, for the report: the main consumer with its default
 * limits, 20 webhooks on one origin, every outcome produced to the attempts topic before commit.
 */
import type { Webhook } from '@hookpost/contracts';
import { describe, expect } from 'vitest';
import { deliveryTest, makeBatch } from '../delivery/support.ts';
import { waitFor } from '../support/env.ts';
import { makeWebhook } from '../support/webhooks.ts';

// Delivery in-process (main consumer only) on 6 partitions; the fixtures close it all.
const it = deliveryTest({ partitions: 6, overrides: { roles: { main: true, suspender: false, tiers: [] } } });
const COUNT = 3000;

describe('throughput', () => {
  it('delivers thousands of batches per run to a local receiver', async ({
    receiver,
    subs,
    delivery,
    batches,
  }) => {
    const webhooks: Webhook[] = [];
    for (let i = 0; i < 20; i += 1) {
      const w = makeWebhook({ url: `${receiver.url}/ok/t${i}` });
      const { partition, offset } = await subs.writer.put(w);
      await delivery.table.waitForOffset(partition, offset);
      webhooks.push(w);
    }
    // Produce first, then measure from the first request to the last, so producing is not timed.
    await batches.send(Array.from({ length: COUNT }, (_, i) => makeBatch(webhooks[i % 20]!, 10)));
    await waitFor(() => receiver.requests.length >= COUNT, {
      what: `${COUNT} deliveries`,
      timeoutMs: 50_000,
    });
    const times = receiver.requests.map((r) => r.at);
    const seconds = (Math.max(...times) - Math.min(...times)) / 1000;
    const rate = Math.round(COUNT / seconds);
    console.log(
      `throughput: ${COUNT} batches (10 events each) in ${seconds.toFixed(2)} s = ${rate} deliveries/s`,
    );
    expect(new Set(receiver.requests.map((r) => r.headers['webhook-id'])).size).toBe(COUNT);
    expect(rate).toBeGreaterThan(100);
  });
});
