/**
 * The real fan-out process against the real broker and registry. One partition in every topic of this
 * file but the subscriptions topic (always 3), so a sentinel event processed last proves everything
 * before it has been seen.
 */
import {
  type DeadLetter,
  type DispatchRecord,
  type EventDispatchRecord,
  SecretBox,
} from '@hookpost/contracts';
import { AvroCodec, type EmailEvent, emailEventSchema, registerSchema, valueSubject } from '@hookpost/events';
import { partitionForKey, provisionTopics } from '@hookpost/kafka';
import { describe, expect } from 'vitest';
import { type TestEnv, uniq, waitFor } from '../support/env.ts';
import { integrationTest } from '../support/fixtures.ts';
import { dispatchPairs, mta, type Tail, type Tailed } from '../support/pipeline.ts';
import { metricsText, metricValue, type RunningProcess } from '../support/services.ts';
import { makeWebhook, subscriptions } from '../support/webhooks.ts';

let env: TestEnv;
let subs: Awaited<ReturnType<typeof subscriptions>>;
let events: Awaited<ReturnType<typeof mta>>;
let fanout: RunningProcess;
let dispatch: Tail<EventDispatchRecord>;
let dlq: Tail<DeadLetter>;
const it = integrationTest({ partitions: 1 });
const domain = uniq('dom');
// The writer seals with this key; the service gets the same key through its environment.
const boxSpec = SecretBox.generateSpec();
const witness = makeWebhook({ domain_id: domain, events: ['activity.opened', 'activity.delivered'] });

// The fixtures close all of these; the file's helpers reach them through these names.
it.beforeAll(async ({ env: e, owned, tailOf, spawn }) => {
  env = e;
  const t = env.catalog.topics;
  await provisionTopics(env.admin, [t.events, t.subscriptions, t.dispatch, t.dlq]);
  subs = await subscriptions(env, new SecretBox(boxSpec));
  owned.own(subs.writer, (w) => w.close());
  await subs.writer.put(witness);
  events = await mta(env);
  owned.own(events.producer, (p) => p.close());
  fanout = spawn('fanout', {
    TOPIC_PREFIX: env.prefix,
    TOPIC_PARTITIONS: '1',
    KAFKA_BROKERS: env.brokers,
    SCHEMA_REGISTRY_URL: env.registryUrl,
    SUBSCRIPTION_ENCRYPTION_KEYS: boxSpec,
  });
  await fanout.ready();
  dispatch = await tailOf<EventDispatchRecord>(t.dispatch.name);
  dlq = await tailOf<DeadLetter>(t.dlq.name);
});
/** Sends events, then a sentinel for the witness, and waits until the sentinel is dispatched. */
async function sendAndSettle(list: EmailEvent[]) {
  const sentinel = events.make(domain, 'activity.opened');
  await events.producer.send([...list, sentinel]);
  await waitFor(() => dispatchPairs(dispatch.records).some((r) => r.value.event_id === sentinel.id), {
    what: 'sentinel',
  });
}

const pairs = (records: Tailed<DispatchRecord>[], ids: Set<string>) =>
  records
    .filter((r) => ids.has(r.value.event_id))
    .map((r) => `${r.value.event_id}>${r.value.webhook_id}`)
    .sort();

describe('fan-out', () => {
  it('dispatches to enabled, active webhooks of the event domain subscribed to its type; suspended go to the DLQ', async () => {
    const b = makeWebhook({ domain_id: domain, events: ['activity.delivered', 'activity.clicked'] });
    // The subscriptions topic has 3 partitions whatever this file's: the others get ids in b's partition.
    const id = idInPartitionOf(b.id);
    const a = makeWebhook({ id: id(), domain_id: domain, events: ['activity.delivered'] });
    const off = makeWebhook({ id: id(), domain_id: domain, events: ['activity.delivered'], enabled: false });
    const suspended = makeWebhook({
      id: id(),
      domain_id: domain,
      events: ['activity.delivered'],
      status: 'suspended',
    });
    const elsewhere = makeWebhook({ id: id(), domain_id: uniq('dom'), events: ['activity.delivered'] });
    const at = new Set<number>();
    for (const w of [a, off, suspended, elsewhere, b]) at.add((await subs.writer.put(w)).partition);
    expect(at.size).toBe(1);
    // A write reaches the running table within a fetch wait; a probe proves it before we measure. b is
    // written last in the partition of all five, so once a probe reaches b the table has every one.
    await waitUntilMatched(b.id, 'activity.delivered');

    const delivered = events.make(domain, 'activity.delivered');
    const clicked = events.make(domain, 'activity.clicked');
    const nobody = events.make(domain, 'activity.spam_complaint');
    const otherDomain = events.make(uniq('dom'), 'activity.delivered');
    await sendAndSettle([delivered, clicked, nobody, otherDomain]);

    const ids = new Set([delivered.id, clicked.id, nobody.id, otherDomain.id]);
    expect(pairs(dispatchPairs(dispatch.records), ids)).toEqual(
      [
        `${delivered.id}>${a.id}`,
        `${delivered.id}>${b.id}`,
        `${delivered.id}>${witness.id}`,
        `${clicked.id}>${b.id}`,
      ].sort(),
    );
    const rec = dispatchPairs(dispatch.records).find(
      (r) => r.value.event_id === delivered.id && r.value.webhook_id === a.id,
    )!;
    // One record per event for all its webhooks, keyed by the domain (a webhook's records stay in one partition).
    expect(rec.key).toBe(domain);
    expect(rec.value.payload).toMatchObject({
      type: 'activity.delivered',
      domain_id: domain,
      webhook_id: a.id,
      url: a.url,
      data: { object: 'activity', id: delivered.id, type: 'delivered', email: { object: 'email' } },
    });
    const dead = await waitFor(() =>
      dlq.records.find(
        (r) =>
          r.value.reason === 'suspended' &&
          r.value.webhook_id === suspended.id &&
          r.value.dispatch?.[0]?.event_id === delivered.id,
      ),
    );
    expect(dead.value.dispatch?.[0]?.payload).toMatchObject({ webhook_id: suspended.id });
    expect(dead.key).toBe(suspended.id);
    const text = await metricsText(fanout);
    expect(metricValue(text, 'webhooks_fanout_events_dropped_total')).toBeGreaterThanOrEqual(2);
    expect(metricValue(text, 'webhooks_fanout_suspended_total')).toBeGreaterThanOrEqual(1);
  });

  it('applies an updated and a deleted subscription without a restart', async () => {
    const w = makeWebhook({ domain_id: domain, events: ['activity.delivered'] });
    await subs.writer.put(w);
    await waitUntilMatched(w.id, 'activity.delivered');

    const updatedAt = Date.now();
    await subs.writer.put({ ...w, events: ['activity.opened'], version: 2 });
    const firstUpdated = await probe('activity.opened', (got) => got.has(w.id));

    const deletedAt = Date.now();
    await subs.writer.remove(w.id);
    const firstDeleted = await probe('activity.opened', (got) => !got.has(w.id));
    console.log(
      `subscription change seen by fan-out: update ${firstUpdated - updatedAt} ms, delete ${firstDeleted - deletedAt} ms`,
    );
  });

  it('dead-letters every kind of poison with its original bytes, and the good records behind it flow', async ({
    producer,
  }) => {
    const t = env.catalog.topics;
    const good = events.make(domain, 'activity.delivered');
    const valid = events.producer.encode(good);
    const unknownId = Buffer.from(valid);
    unknownId.writeUInt32BE(0x7ffffff0, 1);
    const corrupt = Buffer.concat([valid.subarray(0, 5), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01])]);
    const otherId = await registerSchema(env.registry, env.registryUrl, `${env.prefix}unrelated-value`, {
      type: 'record',
      name: 'Unrelated',
      namespace: 'test',
      fields: [{ name: 'x', type: 'int' }],
    });
    const unresolvable = Buffer.from([0, 0, 0, 0, 0, 2]);
    unresolvable.writeUInt32BE(otherId, 1);
    const poison = {
      'bad-magic': Buffer.from('{"not":"avro"}'),
      'unknown-schema': unknownId,
      corrupt,
      unresolvable,
    };
    await producer.send(
      t.events.name,
      Object.entries(poison).map(([kind, value]) => ({ key: domain, value, headers: { kind } })),
    );
    await sendAndSettle([good]);
    expect(dispatchPairs(dispatch.records).some((r) => r.value.event_id === good.id)).toBe(true);

    const letters = await waitFor(() => {
      const found = dlq.records.filter((r) => r.value.reason === 'poison' && r.value.source?.headers.kind);
      return found.length >= 4 ? found : undefined;
    });
    for (const [kind, bytes] of Object.entries(poison)) {
      const letter = letters.find((l) => l.value.source?.headers.kind === kind)!.value;
      expect(letter.error).toMatch(new RegExp(`^${kind}:`));
      expect(Buffer.from(letter.source!.value_b64!, 'base64').equals(bytes)).toBe(true);
      expect(letter.source).toMatchObject({
        topic: t.events.name,
        partition: 0,
        key_b64: Buffer.from(domain).toString('base64'),
      });
    }
    expect(metricValue(await metricsText(fanout), 'webhooks_fanout_poison_total')).toBe(4);
  });

  it('dead-letters an event of a type outside the catalog as unknown_type, with its bytes, and counts it', async ({
    producer,
  }) => {
    const t = env.catalog.topics;
    // As a Python or Java producer can: the schema accepts any string as `type`.
    const schemaId = await registerSchema(
      env.registry,
      env.registryUrl,
      valueSubject(t.events.name),
      emailEventSchema(),
    );
    const codec = new AvroCodec<EmailEvent>(env.registry, emailEventSchema());
    const misspelt = { ...events.make(domain, 'activity.delivered'), type: 'activity.deliverd' };
    const bytes = codec.encode(schemaId, misspelt);
    await producer.send(t.events.name, [{ key: domain, value: bytes, headers: { kind: 'typo' } }]);
    const good = events.make(domain, 'activity.delivered');
    await sendAndSettle([good]);
    expect(dispatchPairs(dispatch.records).some((r) => r.value.event_id === good.id)).toBe(true);
    expect(dispatchPairs(dispatch.records).some((r) => r.value.event_id === misspelt.id)).toBe(false);

    const letter = await waitFor(() => dlq.records.find((r) => r.value.source?.headers.kind === 'typo'));
    expect(letter.headers['x-reason']).toBe('unknown_type');
    expect(letter.value).toMatchObject({
      reason: 'unknown_type',
      webhook_id: null,
      error: 'unknown_type: event type "activity.deliverd" is not in the catalog',
      source: { topic: t.events.name, partition: 0, key_b64: Buffer.from(domain).toString('base64') },
    });
    expect(Buffer.from(letter.value.source!.value_b64!, 'base64').equals(bytes)).toBe(true);
    expect(metricValue(await metricsText(fanout), 'webhooks_fanout_unknown_type_total')).toBe(1);
  });
});

/** Makes webhook ids whose subscription records share the partition of `other`'s. */
function idInPartitionOf(other: string): () => string {
  const partitions = env.catalog.topics.subscriptions.partitions;
  const target = partitionForKey(other, partitions);
  return () => {
    for (;;) {
      const id = uniq('wh');
      if (partitionForKey(id, partitions) === target) return id;
    }
  };
}

/** Waits until a probe event reaches webhook `id` (its subscription is live in the service). */
async function waitUntilMatched(id: string, type: EmailEvent['type']) {
  await probe(type, (got) => got.has(id));
}

/**
 * Sends probe events of `type` (the witness wants opened and delivered) every 100 ms until one
 * satisfies `condition` on the set of webhooks it reached; returns that probe's send time. A probe
 * is judged once the next probe reached the witness: one partition, so it is complete by then.
 */
async function probe(
  type: EmailEvent['type'],
  condition: (reached: Set<string>) => boolean,
): Promise<number> {
  const sent: { id: string; at: number }[] = [];
  const deadline = Date.now() + 15_000;
  for (;;) {
    const p = events.make(domain, type);
    sent.push({ id: p.id, at: Date.now() });
    await events.producer.send([p]);
    await waitFor(() =>
      dispatchPairs(dispatch.records).some(
        (r) => r.value.event_id === p.id && r.value.webhook_id === witness.id,
      ),
    );
    for (const s of sent.slice(0, -1)) {
      const reached = new Set(
        dispatchPairs(dispatch.records)
          .filter((r) => r.value.event_id === s.id)
          .map((r) => r.value.webhook_id),
      );
      if (condition(reached)) return s.at;
    }
    if (Date.now() > deadline) throw new Error('probe condition never held');
    await new Promise((r) => setTimeout(r, 100));
  }
}
