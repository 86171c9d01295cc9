/**
 * Replay right after a resume, when delivery's own subscription table has not read the resume yet. The
 * replayer (DLQ CLI, API replay job) resumes through its own table and re-enqueues at once; delivery
 * reads the subscriptions topic on its own. Here its lag is made deterministic: the resume document is
 * written in a transaction that stays open, so delivery's read_committed table keeps the suspended
 * document while the replayer's lookup already returns the resumed one. Then delivery must wait for
 * the version the replay carries (x-webhook-version) instead of dead-lettering the replay as suspended,
 * and give up, saying why, when the table never gets there.
 */
import { randomUUID } from 'node:crypto';
import {
  type BatchRecord,
  type DeadLetter,
  type DispatchRecord,
  type SecretBox,
  sealWebhook,
  type Webhook,
} from '@hookpost/contracts';
import { replay, replayLedgerTopic } from '@hookpost/deadletters';
import { createProducer, provisionTopics, type SerialProducer } from '@hookpost/kafka';
import { createRegistry } from '@hookpost/metrics';
import { describe, expect } from 'vitest';
import { type TestEnv, waitFor } from '../support/env.ts';
import { makeDeadLetter } from '../support/factories.ts';
import type { Owner } from '../support/fixtures.ts';
import type { Tail } from '../support/pipeline.ts';
import { metricsText, metricValue, type RunningProcess } from '../support/services.ts';
import { makeWebhook } from '../support/webhooks.ts';
import { deliveryTest, makeBatch } from './support.ts';

const VERSION_WAIT_MS = 6_000;
const registry = createRegistry();
const it = deliveryTest({ partitions: 1, overrides: { versionWaitMs: VERSION_WAIT_MS }, registry });
let dlq: Tail<DeadLetter>;
/** The real batcher: a replay of held events goes to webhooks.dispatch and is batched again. */
let batcher: RunningProcess;

it.beforeAll(async ({ env, tailOf, delivery: _delivery, spawn, keys }) => {
  await provisionTopics(env.admin, [replayLedgerTopic(env.prefix)]);
  dlq = await tailOf<DeadLetter>(env.catalog.topics.dlq.name);
  batcher = spawn('batcher', {
    TOPIC_PREFIX: env.prefix,
    TOPIC_PARTITIONS: '1',
    KAFKA_BROKERS: env.brokers,
    SUBSCRIPTION_ENCRYPTION_KEYS: keys,
    BATCHER_SESSION_TIMEOUT_MS: '6000',
  });
  await batcher.ready();
});

/**
 * What `delivery`'s table does not see yet: the resume, written in a transaction left open (aborted at
 * the test's end unless the test commits it; aborting a committed one fails harmlessly).
 */
async function resumeUncommitted(env: TestEnv, box: SecretBox, resumed: Webhook, opened: Owner) {
  const producer = opened.own(
    createProducer(env.kafka, {
      transactionalId: `${env.prefix}resume-${randomUUID()}`,
      idempotent: true,
      maxInFlightRequests: 1,
    }),
    (p) => p.disconnect(),
  );
  await producer.connect();
  const tx = opened.own(await producer.transaction(), (t) => t.abort().catch(() => {}));
  await tx.send({
    topic: env.catalog.topics.subscriptions.name,
    messages: [{ key: resumed.id, value: JSON.stringify(sealWebhook(box, resumed)) }],
  });
  return tx;
}

/** Replays the webhook's dead letters as the CLI would right after its own table showed the resume. */
async function replayAs(env: TestEnv, resumed: Webhook) {
  const t = env.catalog.topics;
  const result = await replay({
    kafka: env.kafka,
    topics: {
      dlq: t.dlq.name,
      batches: t.batches.name,
      dispatch: t.dispatch.name,
      ledger: replayLedgerTopic(env.prefix).name,
    },
    filter: { webhookId: resumed.id },
    lookup: (id) => (id === resumed.id ? resumed : undefined),
    by: 'test',
    groupPrefix: env.prefix,
  });
  expect(result).toMatchObject({ ok: true, report: { replayed: 1 } });
}

/** Gauge of attempts waiting now for the table to reach their record's version. */
async function versionWaiting(): Promise<number> {
  const m = /^webhooks_delivery_version_waiting (\S+)$/m.exec(await registry.metrics());
  return Number(m?.[1] ?? 0);
}

/** The dead letter delivery wrote for the replayed batch (its source is the batches topic). */
const redead = (env: TestEnv, batchId: string) =>
  dlq
    .values()
    .find((d) => d.batch?.batch_id === batchId && d.source?.topic === env.catalog.topics.batches.name);

/** Delivery meets the replayed batch while its table still says suspended: it waits, it does not dead-letter. */
async function expectWaiting(env: TestEnv, batchId: string) {
  const first = await waitFor(
    async () => (redead(env, batchId) ? 'dead-lettered again' : (await versionWaiting()) >= 1 && 'waiting'),
    { what: 'delivery to meet the replayed batch' },
  );
  expect(first, 'the replayed batch went straight back to the DLQ as suspended').toBe('waiting');
}

/**
 * A suspended webhook (version 3, as delivery's table holds it) with one dead letter of reason
 * `suspended` in the DLQ, and its resumed document (version 4) that delivery's table cannot read yet.
 */
async function suspendedWithLetter(
  env: TestEnv,
  put: (w: Webhook) => Promise<Webhook>,
  producer: SerialProducer,
  url: string,
) {
  const suspended = makeWebhook({ url, status: 'suspended', status_reason: 'exhausted', version: 3 });
  await put(suspended);
  const batch = makeBatch(suspended, 2);
  const letter = makeDeadLetter(batch, Date.now(), { reason: 'suspended', error: 'webhook suspended' });
  await producer.send(env.catalog.topics.dlq.name, [{ key: suspended.id, value: JSON.stringify(letter) }]);
  const resumed: Webhook = { ...suspended, status: 'active', status_reason: null, version: 4 };
  return { suspended, batch, resumed };
}

describe('replay right after a resume, before delivery has read the resume', () => {
  it('the replayed batch waits for the resumed version and is delivered, not dead-lettered again', async ({
    env,
    subs,
    put,
    producer,
    receiver,
    delivery,
    opened,
  }) => {
    const { batch, resumed } = await suspendedWithLetter(env, put, producer, `${receiver.url}/ok`);
    const tx = await resumeUncommitted(env, subs.box, resumed, opened);
    await replayAs(env, resumed);

    // Delivery meets the replay while its table still says suspended (version 3).
    await expectWaiting(env, batch.batch_id);
    expect(delivery.table.get(resumed.id)).toMatchObject({ status: 'suspended', version: 3 });

    await tx.commit();
    const request = await waitFor(
      () => receiver.requests.find((r) => r.headers['webhook-id'] === batch.batch_id),
      {
        what: 'the replayed batch at the receiver',
      },
    );
    expect(request.headers['webhook-id']).toBe(batch.batch_id);
    expect(delivery.table.get(resumed.id)).toMatchObject({ status: 'active', version: 4 });
    expect(redead(env, batch.batch_id)).toBeUndefined();
    expect(await versionWaiting()).toBe(0);
    expect((await delivery.metrics.versionWaits.get()).values).toContainEqual(
      expect.objectContaining({ labels: { result: 'caught_up' }, value: 1 }),
    );
  });

  it("held events replayed to webhooks.dispatch: the batcher carries the replay's version onto their batch, which waits for it and is delivered", async ({
    env,
    subs,
    put,
    producer,
    receiver,
    delivery,
    opened,
    tailOf,
  }) => {
    const suspended = makeWebhook({
      url: `${receiver.url}/ok`,
      status: 'suspended',
      status_reason: 'exhausted',
      version: 3,
      batch: { max_events: 3, window_ms: 1000 },
    });
    const known = async () => metricValue(await metricsText(batcher), 'webhooks_subscriptions');
    const before = await known();
    await put(suspended);
    // The batcher has the webhook (its table is its own): otherwise it would dead-letter the replay as deleted.
    await waitFor(async () => (await known()) > before, { what: "the webhook in the batcher's table" });
    // What the fan-out keeps for a suspended webhook: the event's dispatch record, in a dead letter.
    const held: DispatchRecord[] = [1, 2, 3].map((i) => ({
      event_id: `held-${suspended.id}-${i}`,
      webhook_id: suspended.id,
      type: 'activity.delivered',
      event_created_at: Date.now(),
      dispatched_at: Date.now(),
      payload: { type: 'activity.delivered', webhook_id: suspended.id, data: { i } },
    }));
    const letter = makeDeadLetter(makeBatch(suspended, 1), Date.now(), {
      reason: 'suspended',
      error: 'webhook suspended',
      batch: null,
      dispatch: held,
      attempts: [],
    });
    await producer.send(env.catalog.topics.dlq.name, [{ key: suspended.id, value: JSON.stringify(letter) }]);
    const resumed: Webhook = { ...suspended, status: 'active', status_reason: null, version: 4 };
    const batches = await tailOf<BatchRecord>(env.catalog.topics.batches.name);
    const tx = await resumeUncommitted(env, subs.box, resumed, opened);
    await replayAs(env, resumed);

    const batch = await waitFor(
      () =>
        batches.records.find((b) => b.value.webhook_id === suspended.id && b.value.event_ids.length === 3),
      { what: 'the held events batched again' },
    );
    expect(batch.headers?.['x-webhook-version']).toBe('4');
    await expectWaiting(env, batch.value.batch_id);
    expect(delivery.table.get(resumed.id)).toMatchObject({ status: 'suspended', version: 3 });

    await tx.commit();
    const request = await waitFor(
      () => receiver.requests.find((r) => r.headers['webhook-id'] === batch.value.batch_id),
      { what: 'the batched replay at the receiver' },
    );
    expect(JSON.parse(request.body).map((p: { data: { i: number } }) => p.data.i)).toEqual([1, 2, 3]);
    expect(redead(env, batch.value.batch_id)).toBeUndefined();
  });

  it('when the table never reaches the version, the batch is dead-lettered as suspended, saying the table was behind', async ({
    env,
    subs,
    put,
    producer,
    receiver,
    delivery,
    opened,
  }) => {
    const { batch, resumed } = await suspendedWithLetter(env, put, producer, `${receiver.url}/ok`);
    await resumeUncommitted(env, subs.box, resumed, opened);
    await replayAs(env, resumed);

    const letter = await waitFor(() => redead(env, batch.batch_id), {
      what: 'the dead letter after the wait',
      timeoutMs: VERSION_WAIT_MS + 30_000,
    });
    expect(letter.reason).toBe('suspended');
    expect(letter.error).toBe(
      `webhook suspended at version 3 in this delivery's subscription table; the record was produced under version 4 and the table had not caught up within ${VERSION_WAIT_MS} ms`,
    );
    expect(letter.source?.headers).toMatchObject({
      'x-webhook-version': '4',
      'x-replay-of': expect.any(String),
    });
    expect(receiver.requests.some((r) => r.headers['webhook-id'] === batch.batch_id)).toBe(false);
    expect((await delivery.metrics.versionWaits.get()).values).toContainEqual(
      expect.objectContaining({ labels: { result: 'timeout' }, value: 1 }),
    );
  });
});
