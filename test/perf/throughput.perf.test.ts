/**
 * Deliveries per second to a local receiver, for the report: the main consumer with its default
 * limits, 20 webhooks on one origin, every outcome produced to the attempts topic before commit.
 */
import { SecretBox, type Webhook } from '@hookpost/contracts';
import type { DeliveryHandle } from '@hookpost/delivery';
import { type Receiver, startReceiver } from '@hookpost/sender';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchProducer, makeBatch, provision, startInProcess, TEST_TIERS } from '../delivery/support.ts';
import { type TestEnv, testEnv, waitFor } from '../support/env.ts';
import { makeWebhook, subscriptions } from '../support/webhooks.ts';

let env: TestEnv;
let receiver: Receiver;
let delivery: DeliveryHandle;
let subs: Awaited<ReturnType<typeof subscriptions>>;
let batches: BatchProducer;
const COUNT = 3000;

beforeAll(async () => {
  env = await testEnv({ partitions: 6, retryTiers: TEST_TIERS.map((t) => t.name) });
  await provision(env);
  receiver = await startReceiver();
  const keys = SecretBox.generateSpec();
  subs = await subscriptions(env, new SecretBox(keys));
  delivery = await startInProcess(env, keys, { roles: { main: true, suspender: false, tiers: [] } });
  batches = new BatchProducer(env);
  await batches.connect();
});

afterAll(async () => {
  await batches?.close();
  await delivery?.stop();
  await subs?.writer.close();
  await receiver?.close();
  await env?.close();
});

describe('throughput', () => {
  it('delivers thousands of batches per run to a local receiver', async () => {
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
