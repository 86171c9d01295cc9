/**
 * The whole suspension loop across services: delivery exhausts its tiers → DLQ → the suspender sets
 * the webhook suspended → the real fan-out process then sends that webhook's new events to the DLQ
 * with reason `suspended` (kept, not dropped, and not sent).
 */
import type { DeadLetter } from '@hookpost/contracts';
import { describe, expect } from 'vitest';
import { uniq, waitFor } from '../support/env.ts';
import { mta, type Tail } from '../support/pipeline.ts';
import { metricsText, type RunningProcess } from '../support/services.ts';
import { makeWebhook } from '../support/webhooks.ts';
import { deliveryTest, makeBatch } from './support.ts';

const it = deliveryTest({ partitions: 1 });
let events: Awaited<ReturnType<typeof mta>>;
let dlq: Tail<DeadLetter>;
let fanout: RunningProcess;

it.beforeAll(async ({ env, keys, topics: _topics, delivery: _delivery, owned, tailOf, spawn }) => {
  events = await mta(env);
  owned.own(events.producer, (p) => p.close());
  dlq = await tailOf<DeadLetter>(env.catalog.topics.dlq.name);
  fanout = spawn('fanout', {
    TOPIC_PREFIX: env.prefix,
    TOPIC_PARTITIONS: '1',
    KAFKA_BROKERS: env.brokers,
    SCHEMA_REGISTRY_URL: env.registryUrl,
    SUBSCRIPTION_ENCRYPTION_KEYS: keys,
  });
  await fanout.ready();
});

describe('suspension end to end', () => {
  it('exhaustion suspends the webhook and fan-out then dead-letters its new events as suspended', async ({
    receiver,
    delivery,
    put,
    batches,
  }) => {
    const domain = uniq('dom');
    const w = makeWebhook({
      domain_id: domain,
      events: ['activity.delivered'],
      url: `${receiver.url}/status/503/x`,
    });
    await put(w);
    await batches.send([makeBatch(w, 1)]);
    await waitFor(() => dlq.values().some((d) => d.webhook_id === w.id && d.reason === 'exhausted'));
    await waitFor(() => delivery.table.get(w.id)?.status === 'suspended', { what: 'suspended' });
    // The fan-out reads the subscriptions topic on its own: its table must hold the suspension (the only
    // one in this file) before the event goes in, or the event would be judged by the active webhook.
    await waitFor(
      async () => {
        const m = /^webhooks_subscriptions\{[^}]*status="suspended"[^}]*\} (\S+)$/m.exec(
          await metricsText(fanout),
        );
        return Number(m?.[1] ?? 0) >= 1;
      },
      { what: "the suspension in the fan-out's table" },
    );
    const requestsBefore = receiver.requests.length;

    const event = events.make(domain, 'activity.delivered');
    await events.producer.send([event]);
    const kept = await waitFor(
      () => dlq.values().find((d) => d.reason === 'suspended' && d.webhook_id === w.id && d.dispatch),
      { what: 'fan-out dead letter for the suspended webhook' },
    );
    expect(kept.dispatch?.[0]?.event_id).toBe(event.id);
    expect(receiver.requests.length).toBe(requestsBefore);
  });
});
