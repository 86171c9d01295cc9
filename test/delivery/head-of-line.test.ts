/**
 * No head-of-line blocking: one endpoint that hangs until its timeout does not delay the other
 * webhooks of its partition (one partition here, so every record shares it). The hang also outlasts
 * the consumer session timeout, which shows heartbeats keep flowing while requests are in flight: a
 * missed session would rebalance and redeliver, and the group's commit would stall.
 */
import type { Webhook } from '@hookpost/contracts';
import type { Receiver } from '@hookpost/sender';
import { describe, expect } from 'vitest';
import { waitFor } from '../support/env.ts';
import { type BatchProducer, deliveryTest, makeBatch, percentile } from './support.ts';

const SESSION_MS = 6_000;
const HANG_TIMEOUT_MS = 8_000;
const it = deliveryTest({
  overrides: {
    sessionTimeoutMs: SESSION_MS,
    heartbeatIntervalMs: 1_000,
    // Only the main consumer: the hanging batches' retries are not what this test is about.
    roles: { main: true, suspender: false, tiers: [] },
  },
});

/** Produces `count` batches round-robin over the webhooks; returns send time per batch id. */
async function burst(
  batches: BatchProducer,
  webhooks: Webhook[],
  count: number,
): Promise<Map<string, number>> {
  const list = Array.from({ length: count }, (_, i) => makeBatch(webhooks[i % webhooks.length]!, 2));
  const sentAt = Date.now();
  await batches.send(list);
  return new Map(list.map((b) => [b.batch_id, sentAt]));
}

function latencies(receiver: Receiver, sent: Map<string, number>): number[] {
  const out: number[] = [];
  for (const [id, at] of sent) {
    const r = receiver.requests.find((q) => q.headers['webhook-id'] === id && q.status === 200);
    if (r) out.push(r.at - at);
  }
  return out;
}

describe('no head-of-line blocking', () => {
  it('a hanging endpoint does not delay the other webhooks of its partition', async ({
    env,
    receiver,
    delivery,
    register,
    batches,
  }) => {
    const others = await Promise.all(Array.from({ length: 10 }, (_, i) => register(`/slow/20/n${i}`)));

    const baseline = await burst(batches, others, 50);
    await waitFor(() => latencies(receiver, baseline).length === 50, { what: 'baseline deliveries' });
    const without = latencies(receiver, baseline);

    const hanging = await register('/hang/h', { timeout_ms: HANG_TIMEOUT_MS });
    const hangBatches = [makeBatch(hanging), makeBatch(hanging), makeBatch(hanging)];
    const hangSentAt = Date.now();
    await batches.send(hangBatches);
    await waitFor(() => receiver.requests.filter((r) => r.path.startsWith('/hang')).length === 3, {
      what: 'hanging requests in flight',
    });
    const withHang = await burst(batches, others, 50);
    await waitFor(() => latencies(receiver, withHang).length === 50, { what: 'deliveries beside the hang' });
    const beside = latencies(receiver, withHang);
    const figures = {
      withoutP50: percentile(without, 50),
      withoutP99: percentile(without, 99),
      besideP50: percentile(beside, 50),
      besideP99: percentile(beside, 99),
    };
    console.log(
      `hanging neighbour (timeout ${HANG_TIMEOUT_MS} ms, one partition, 50 batches over 10 webhooks): ` +
        `without p50 ${figures.withoutP50} ms p99 ${figures.withoutP99} ms; ` +
        `beside the hang p50 ${figures.besideP50} ms p99 ${figures.besideP99} ms`,
    );
    // All delivered while the hanging requests were still waiting for their timeout.
    expect(Date.now() - hangSentAt).toBeLessThan(HANG_TIMEOUT_MS);

    // The hang outlasts the session timeout: the member must survive it (no rebalance, no redelivery)
    // and, once the hanging attempts time out and move to the retry tier, the commit reaches the end.
    const total = 50 + 3 + 50;
    await waitFor(
      async () => {
        const [o] = await env.admin.fetchOffsets({
          groupId: `${env.prefix}hookpost-delivery`,
          topics: [env.catalog.topics.batches.name],
        });
        return Number(o?.partitions[0]?.offset) === total;
      },
      { what: 'committed offset at the end', timeoutMs: HANG_TIMEOUT_MS + 10_000 },
    );
    expect(Date.now() - hangSentAt).toBeGreaterThan(SESSION_MS);
    const okIds = [...baseline.keys(), ...withHang.keys()];
    const deliveries = receiver.requests.filter((r) => okIds.includes(String(r.headers['webhook-id'])));
    expect(deliveries).toHaveLength(100);
    expect((await delivery.metrics.commitErrors.get()).values.reduce((s, v) => s + v.value, 0)).toBe(0);
  });
});
