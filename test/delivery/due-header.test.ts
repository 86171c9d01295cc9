/**
 * A retry record whose x-due-at header is in the year 3000 used to be held by the tier's partition
 * consumer for good: the partition's committed offset stayed behind it. The header is data; beyond what
 * the tier could have set, the record is due now (services/delivery/src/service.ts dueAtWithin), and so is
 * one whose header is not a number; each is counted in webhooks_delivery_due_header_invalid_total.
 */
import type { BatchRecord } from '@hookpost/contracts';
import { groupIds } from '@hookpost/delivery';
import { describe, expect } from 'vitest';
import { waitFor } from '../support/env.ts';
import { makeRetry } from '../support/factories.ts';
import { makeWebhook } from '../support/webhooks.ts';
import { deliveryTest, makeBatch, TEST_TIERS } from './support.ts';

const it = deliveryTest({ overrides: { roles: { main: true, suspender: false, tiers: TEST_TIERS } } });

describe('retry due-time header', () => {
  it('a due time in the year 3000, or one that is not a number, is due now: delivered, counted, and the committed offset moves past both', async ({
    env,
    receiver,
    delivery,
    put,
    producer,
  }) => {
    const w = makeWebhook({ url: `${receiver.url}/ok/far` });
    await put(w);
    const tier = TEST_TIERS[0]!.name;
    const topic = env.catalog.retryTopic(tier);
    const far = makeBatch(w, 1);
    const garbled = makeBatch(w, 1);
    const farAway = Date.UTC(3000, 0, 1);
    const record = (batch: BatchRecord) => makeRetry(batch, tier, { due_at: farAway });
    const sent = await producer.send(topic, [
      { key: w.id, value: JSON.stringify(record(far)), headers: { 'x-due-at': String(farAway) } },
      { key: w.id, value: JSON.stringify(record(garbled)), headers: { 'x-due-at': 'tomorrow' } },
    ]);
    const deliveredOnce = (id: string) => receiver.requests.filter((r) => r.headers['webhook-id'] === id);
    await waitFor(
      () => deliveredOnce(far.batch_id).length > 0 && deliveredOnce(garbled.batch_id).length > 0,
      {
        what: 'both retries delivered',
        timeoutMs: 30_000,
      },
    );
    const after = BigInt(sent[0]!.baseOffset!) + 2n;
    await waitFor(
      async () => {
        const [t] = await env.admin.fetchOffsets({
          groupId: groupIds(env.prefix).tier(tier),
          topics: [topic],
        });
        const p = t!.partitions.find((x) => x.partition === sent[0]!.partition);
        return p !== undefined && BigInt(p.offset) >= after;
      },
      { what: 'the tier committed past both records', timeoutMs: 30_000 },
    );
    expect(deliveredOnce(far.batch_id)).toHaveLength(1);
    expect(deliveredOnce(garbled.batch_id)).toHaveLength(1);
    const counted = (await delivery.metrics.dueHeaderInvalid.get()).values
      .filter((v) => v.labels.tier === tier)
      .map((v) => [v.labels.reason, v.value]);
    expect(Object.fromEntries(counted)).toEqual({ beyond_horizon: 1, not_a_number: 1 });
  });
});
