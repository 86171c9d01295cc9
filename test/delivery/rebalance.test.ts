/**
 * Scaling out and back in mid-flight: a second instance joins the group while the first has requests
 * in flight and paused partitions (small window), then the first stops gracefully. Every batch is
 * delivered, no partition stays stuck paused, and duplicates (at least once) are counted.
 */
import type { Webhook } from '@hookpost/contracts';
import type { DeliveryHandle } from '@hookpost/delivery';
import { describe, expect } from 'vitest';
import type { TestEnv } from '../support/env.ts';
import { waitFor } from '../support/env.ts';
import type { Owner } from '../support/fixtures.ts';
import { makeWebhook } from '../support/webhooks.ts';
import { deliveryTest, makeBatch, startInProcess } from './support.ts';

const it = deliveryTest({ partitions: 6, inProcess: false });
const stopped = new Set<DeliveryHandle>();

/** An instance of delivery, stopped after the test unless the test stopped it. */
const start = async (env: TestEnv, keys: string, opened: Owner) =>
  opened.own(
    await startInProcess(env, keys, {
      partitionWindow: 3,
      sessionTimeoutMs: 6_000,
      roles: { main: true, suspender: false, tiers: [] },
    }),
    (d) => (stopped.has(d) ? undefined : d.stop()),
  );

describe('rebalance', () => {
  it('a member joining and another leaving mid-flight lose nothing and leave nothing paused', async ({
    env,
    receiver,
    subs,
    batches,
    keys,
    topics: _topics,
    opened,
  }) => {
    const webhooks: Webhook[] = [];
    for (let i = 0; i < 12; i += 1) {
      const w = makeWebhook({ url: `${receiver.url}/slow/150/r${i}` });
      await subs.writer.put(w);
      webhooks.push(w);
    }
    const a = await start(env, keys, opened);
    await waitFor(() => webhooks.every((w) => a.table.get(w.id)));
    const all = Array.from({ length: 240 }, (_, i) => makeBatch(webhooks[i % 12]!, 1));
    await batches.send(all);
    const delivered = () =>
      new Set(receiver.requests.filter((r) => r.status === 200).map((r) => r.headers['webhook-id']));
    await waitFor(() => delivered().size >= 40, { what: '40 deliveries by the first member' });
    const b = await start(env, keys, opened);
    await waitFor(() => delivered().size >= 120, { what: '120 deliveries', timeoutMs: 40_000 });
    await a.stop();
    stopped.add(a);
    await waitFor(() => delivered().size === 240, { what: 'all 240 delivered', timeoutMs: 40_000 });
    const duplicates = receiver.requests.filter((r) => r.status === 200).length - 240;
    console.log(`rebalance (join then graceful leave, mid-flight): 240 delivered, ${duplicates} duplicates`);
    expect(new Set(all.map((x) => x.batch_id))).toEqual(delivered());
    await waitFor(async () => {
      const g = await b.metrics.paused.get();
      return g.values.every((v) => v.value === 0);
    });
    await waitFor(
      async () => {
        const offsets = await env.admin.fetchOffsets({
          groupId: `${env.prefix}hookpost-delivery`,
          topics: [env.catalog.topics.batches.name],
        });
        const ends = await env.admin.fetchTopicOffsets(env.catalog.topics.batches.name);
        if (process.env.DEBUG_REBALANCE)
          console.log(
            JSON.stringify({ c: offsets[0]?.partitions, e: ends.map((e) => [e.partition, e.high]) }),
          );
        // An empty partition has nothing to commit (-1).
        return ends.every((e) => {
          const committed = offsets[0]?.partitions.find((p) => p.partition === e.partition)?.offset;
          return committed === e.high || (e.high === '0' && committed === '-1');
        });
      },
      { what: 'every partition committed to its end' },
    );
  });
});
