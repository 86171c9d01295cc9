/**
 * Deliveries per second to a local receiver, for the report: the main consumer with its default
 * limits, 20 webhooks on one origin, every outcome produced to the attempts topic before commit; and
 * one webhook alone (one key, so one busy partition beside five idle ones, as with `max_events` 1),
 * where the partition's window has to refill while its requests run.
 */
import type { Webhook } from '@hookpost/contracts';
import { describe, expect } from 'vitest';
import { deliveryTest, makeBatch } from '../delivery/support.ts';
import { waitFor } from '../support/env.ts';
import { makeWebhook } from '../support/webhooks.ts';

// Delivery in-process (main consumer only) on 6 partitions; the fixtures close it all.
const it = deliveryTest({ partitions: 6, overrides: { roles: { main: true, suspender: false, tiers: [] } } });
const COUNT = 3000;
// The production fetch wait (the suite's default is 50 ms): what a paused partition waits for.
const single = deliveryTest({
  partitions: 6,
  overrides: { roles: { main: true, suspender: false, tiers: [] }, maxWaitTimeMs: 100 },
});
const SINGLE = 6000;

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

  single('one webhook: one busy partition keeps its window full', async ({ receiver, put, batches }) => {
    const w = await put(makeWebhook({ url: `${receiver.url}/ok/single` }));
    await batches.send(Array.from({ length: SINGLE }, () => makeBatch(w, 1)));
    const mine = () => receiver.requests.filter((r) => r.path === '/ok/single');
    await waitFor(() => mine().length >= SINGLE, { what: `${SINGLE} deliveries`, timeoutMs: 50_000 });
    const times = mine().map((r) => r.at);
    const seconds = (Math.max(...times) - Math.min(...times)) / 1000;
    const rate = Math.round(SINGLE / seconds);
    console.log(
      `throughput, one webhook: ${SINGLE} batches in ${seconds.toFixed(2)} s = ${rate} deliveries/s`,
    );
    expect(new Set(mine().map((r) => r.headers['webhook-id'])).size).toBe(SINGLE);
    expect(rate).toBeGreaterThan(100);
  });
});
