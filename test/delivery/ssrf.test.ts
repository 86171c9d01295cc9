/**
 * Outbound safety end to end, with nothing allowed (production defaults): webhooks pointing at
 * loopback, private, link-local/metadata, unique-local or IPv4-mapped addresses, or at a name that
 * resolves to loopback, are dead-lettered with reason `refused` and nothing reaches the receiver.
 * (A public name resolving to a private address is covered by the sender's unit tests with an
 * injected resolver: the check runs on the address actually connected to.)
 */
import { type DeadLetter, SecretBox } from '@hookpost/contracts';
import type { DeliveryHandle } from '@hookpost/delivery';
import { type Receiver, startReceiver } from '@hookpost/sender';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestEnv, testEnv, waitFor } from '../support/env.ts';
import { type Tail, tail } from '../support/pipeline.ts';
import { makeWebhook, subscriptions } from '../support/webhooks.ts';
import { BatchProducer, makeBatch, provision, startInProcess, TEST_TIERS } from './support.ts';

let env: TestEnv;
let receiver: Receiver;
let delivery: DeliveryHandle;
let subs: Awaited<ReturnType<typeof subscriptions>>;
let batches: BatchProducer;
let dlq: Tail<DeadLetter>;

beforeAll(async () => {
  env = await testEnv({ partitions: 3, retryTiers: TEST_TIERS.map((t) => t.name) });
  await provision(env);
  receiver = await startReceiver();
  const keys = SecretBox.generateSpec();
  subs = await subscriptions(env, new SecretBox(keys));
  delivery = await startInProcess(env, keys, { ssrf: {}, roles: { main: true, suspender: true, tiers: [] } });
  batches = new BatchProducer(env);
  await batches.connect();
  dlq = await tail<DeadLetter>(env, env.catalog.topics.dlq.name);
});

afterAll(async () => {
  await dlq?.close();
  await batches?.close();
  await delivery?.stop();
  await subs?.writer.close();
  await receiver?.close();
  await env?.close();
});

describe('SSRF refusals', () => {
  it('dead-letters every webhook that points into a non-public network, sending nothing', async () => {
    const port = receiver.port;
    const urls = [
      `http://127.0.0.1:${port}/ok`,
      `http://localhost:${port}/ok`,
      `http://[::1]:${port}/ok`,
      'http://10.0.0.5/hook',
      'http://172.16.0.1/hook',
      'http://192.168.1.1/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[fc00::1]/hook',
      'http://[::ffff:10.0.0.1]/hook',
      'http://[::ffff:127.0.0.1]/hook',
    ];
    const ids = new Map<string, string>();
    for (const url of urls) {
      const w = makeWebhook({ url });
      const { partition, offset } = await subs.writer.put(w);
      await delivery.table.waitForOffset(partition, offset);
      const b = makeBatch(w, 1);
      ids.set(b.batch_id, url);
      await batches.send([b]);
    }
    await waitFor(
      () => dlq.values().filter((d) => d.batch && ids.has(d.batch.batch_id)).length === urls.length,
      {
        what: 'a dead letter per URL',
      },
    );
    const dead = dlq.values().filter((d) => d.batch && ids.has(d.batch.batch_id));
    expect(Object.fromEntries(dead.map((d) => [ids.get(d.batch!.batch_id), d.reason]))).toEqual(
      Object.fromEntries(urls.map((u) => [u, 'refused'])),
    );
    expect(dead.every((d) => d.attempts.length === 1 && d.attempts[0]!.status === null)).toBe(true);
    expect(receiver.requests).toHaveLength(0);
    // Refused is not a suspension reason: the webhook stays active for its owner to fix the URL.
    expect(delivery.table.all().every((w) => w.status === 'active')).toBe(true);
  });
});
