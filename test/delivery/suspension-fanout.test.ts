/**
 * The whole suspension loop across services: delivery exhausts its tiers → DLQ → the suspender sets
 * the webhook suspended → the real fan-out process then sends that webhook's new events to the DLQ
 * with reason `suspended` (kept, not dropped, and not sent).
 */
import { type DeadLetter, SecretBox } from '@hookpost/contracts';
import type { DeliveryHandle } from '@hookpost/delivery';
import { type Receiver, startReceiver } from '@hookpost/sender';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestEnv, testEnv, uniq, waitFor } from '../support/env.ts';
import { mta, type Tail, tail } from '../support/pipeline.ts';
import { type RunningProcess, spawnService } from '../support/services.ts';
import { makeWebhook, subscriptions } from '../support/webhooks.ts';
import { BatchProducer, makeBatch, provision, startInProcess, TEST_TIERS } from './support.ts';

let env: TestEnv;
let receiver: Receiver;
let delivery: DeliveryHandle;
let subs: Awaited<ReturnType<typeof subscriptions>>;
let events: Awaited<ReturnType<typeof mta>>;
let batches: BatchProducer;
let dlq: Tail<DeadLetter>;
let fanout: RunningProcess;
const keys = SecretBox.generateSpec();

beforeAll(async () => {
  env = await testEnv({ partitions: 1, retryTiers: TEST_TIERS.map((t) => t.name) });
  await provision(env);
  receiver = await startReceiver();
  subs = await subscriptions(env, new SecretBox(keys));
  delivery = await startInProcess(env, keys);
  batches = new BatchProducer(env);
  await batches.connect();
  events = await mta(env);
  dlq = await tail<DeadLetter>(env, env.catalog.topics.dlq.name);
  fanout = spawnService('fanout', {
    TOPIC_PREFIX: env.prefix,
    TOPIC_PARTITIONS: '1',
    KAFKA_BROKERS: env.brokers,
    SCHEMA_REGISTRY_URL: env.registryUrl,
    SUBSCRIPTION_ENCRYPTION_KEYS: keys,
  });
  await fanout.ready();
});

afterAll(async () => {
  await fanout?.kill();
  await dlq?.close();
  await events?.producer.close();
  await batches?.close();
  await delivery?.stop();
  await subs?.writer.close();
  await receiver?.close();
  await env?.close();
});

describe('suspension end to end', () => {
  it('exhaustion suspends the webhook and fan-out then dead-letters its new events as suspended', async () => {
    const domain = uniq('dom');
    const w = makeWebhook({
      domain_id: domain,
      events: ['activity.delivered'],
      url: `${receiver.url}/status/503/x`,
    });
    const { partition, offset } = await subs.writer.put(w);
    await delivery.table.waitForOffset(partition, offset);
    await batches.send([makeBatch(w, 1)]);
    await waitFor(() => dlq.values().some((d) => d.webhook_id === w.id && d.reason === 'exhausted'));
    await waitFor(() => delivery.table.get(w.id)?.status === 'suspended', { what: 'suspended' });
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
