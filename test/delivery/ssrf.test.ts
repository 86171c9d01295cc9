/**
 * Outbound safety end to end, with nothing allowed (production defaults): webhooks pointing at
 * loopback, private, link-local/metadata, unique-local or IPv4-mapped addresses, or at a name that
 * resolves to loopback, are dead-lettered with reason `refused` and nothing reaches the receiver.
 * (A public name resolving to a private address is covered by the sender's unit tests with an
 * injected resolver: the check runs on the address actually connected to.)
 */
import type { DeadLetter } from '@hookpost/contracts';
import { describe, expect } from 'vitest';
import { waitFor } from '../support/env.ts';
import type { Tail } from '../support/pipeline.ts';
import { makeWebhook } from '../support/webhooks.ts';
import { deliveryTest, makeBatch, suspenderPast } from './support.ts';

const it = deliveryTest({
  partitions: 3,
  overrides: { ssrf: {}, roles: { main: true, suspender: true, tiers: [] } },
});
let dlq: Tail<DeadLetter>;

it.beforeAll(async ({ env, tailOf }) => {
  dlq = await tailOf<DeadLetter>(env.catalog.topics.dlq.name);
});

describe('SSRF refusals', () => {
  it('dead-letters every webhook that points into a non-public network, sending nothing', async ({
    env,
    receiver,
    delivery,
    put,
    batches,
  }) => {
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
      await put(w);
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
    // Refused is not a suspension reason: the webhook stays active for its owner to fix the URL (once the
    // suspender has read the letters; before that, "active" would hold whatever it does with them).
    await suspenderPast(
      env,
      dlq.records.filter((d) => d.value.batch && ids.has(d.value.batch.batch_id)),
    );
    expect(delivery.table.all().every((w) => w.status === 'active')).toBe(true);
  });
});
