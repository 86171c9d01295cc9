import { sealWebhook } from '@hookpost/contracts';
import { provisionTopics, type SerialProducer } from '@hookpost/kafka';
import { createLogger } from '@hookpost/logger';
import { Registry } from '@hookpost/metrics';
import { SubscriptionTable } from '@hookpost/subscriptions';
import { describe, expect, vi } from 'vitest';
import { type TestEnv, uniq, waitFor } from '../support/env.ts';
import { it, type Owner } from '../support/fixtures.ts';
import { makeWebhook, subscriptions } from '../support/webhooks.ts';

let env: TestEnv;
let subs: Awaited<ReturnType<typeof subscriptions>>;
// The fixtures' idempotent producer writes the records the writer would refuse: the filter test counts
// exactly two invalid records, which a retried plain send could make three.
let producer: SerialProducer;

it.beforeAll(async ({ env: e, producer: p, owned }) => {
  [env, producer] = [e, p];
  await provisionTopics(env.admin, [env.catalog.topics.subscriptions]);
  subs = await subscriptions(env);
  owned.own(subs.writer, (w) => w.close());
});

/** A table over the subscriptions topic, stopped after the test. */
const open = async (opened: Owner) => opened.own(await subs.openTable(), (t) => t.stop());

describe('subscription table', () => {
  it('is not ready until it has loaded everything already in the topic', async ({ opened }) => {
    const written = Array.from({ length: 40 }, (_, i) => makeWebhook({ domain_id: `dom-${i % 4}` }));
    for (const w of written) await subs.writer.put(w);
    const table = await open(opened);
    expect(table.ready).toBe(true);
    for (const w of written) expect(table.get(w.id)).toEqual(w);
  });

  it('indexes by domain and event type, and only returns enabled webhooks', async ({ opened }) => {
    const domain = uniq('dom');
    const a = makeWebhook({ domain_id: domain, events: ['activity.sent', 'activity.opened'] });
    const b = makeWebhook({ domain_id: domain, events: ['activity.opened'] });
    const off = makeWebhook({ domain_id: domain, events: ['activity.opened'], enabled: false });
    const other = makeWebhook({ domain_id: uniq('dom'), events: ['activity.opened'] });
    const table = await open(opened);
    let last = { partition: 0, offset: 0 };
    for (const w of [a, b, off, other]) last = await subs.writer.put(w);
    await waitFor(() => table.get(other.id) && table.get(a.id) && table.get(b.id) && table.get(off.id));
    expect(last.offset).toBeGreaterThanOrEqual(0);
    expect(table.forEvent(domain, 'activity.sent').map((w) => w.id)).toEqual([a.id]);
    expect(
      table
        .forEvent(domain, 'activity.opened')
        .map((w) => w.id)
        .sort(),
    ).toEqual([a.id, b.id].sort());
    expect(table.forEvent(domain, 'activity.clicked')).toEqual([]);
  });

  it('applies an update in a running table, and a tombstone deletes', async ({ opened }) => {
    const table = await open(opened);
    const w = makeWebhook({ events: ['activity.sent'] });
    const first = await subs.writer.put(w);
    await table.waitForOffset(first.partition, first.offset);
    expect(table.forEvent(w.domain_id, 'activity.sent').map((x) => x.id)).toContain(w.id);

    const changed = await subs.writer.put({ ...w, events: ['activity.clicked'], version: 2 });
    await table.waitForOffset(changed.partition, changed.offset);
    expect(table.forEvent(w.domain_id, 'activity.sent').map((x) => x.id)).not.toContain(w.id);
    expect(table.forEvent(w.domain_id, 'activity.clicked').map((x) => x.id)).toContain(w.id);

    const removed = await subs.writer.remove(w.id);
    await table.waitForOffset(removed.partition, removed.offset);
    expect(table.get(w.id)).toBeUndefined();
    expect(table.forEvent(w.domain_id, 'activity.clicked').map((x) => x.id)).not.toContain(w.id);
  });

  it('settle: a webhook written just now is in the table once it resolves; thousands of callers share at most two catch-ups; a tombstoned one needs none', async ({
    opened,
  }) => {
    const table = await open(opened);
    const admins = vi.spyOn(env.kafka, 'admin');
    const catchUps = () => admins.mock.calls.length;
    try {
      // 3 000 ids no table holds, asked at once: each caller is judged by a caught-up table.
      const unknown = Array.from({ length: 3000 }, () => uniq('wh'));
      expect(await Promise.all(unknown.map((id) => table.settle(id)))).toEqual(unknown.map(() => true));
      expect(catchUps()).toBeGreaterThanOrEqual(1);
      expect(catchUps()).toBeLessThanOrEqual(2);

      // Acked by the broker before anyone asks (what a fan-out whose table read them first saw), asked
      // at once, in the tick the acks arrive: whoever finds one missing gets it once settle resolves.
      const written = Array.from({ length: 300 }, () => makeWebhook());
      await Promise.all(written.map((w) => subs.writer.put(w)));
      const before = catchUps();
      const found = await Promise.all(
        written.map(async (w) => {
          await table.settle(w.id);
          return table.get(w.id)?.id;
        }),
      );
      expect(found).toEqual(written.map((w) => w.id));
      expect(catchUps() - before).toBeLessThanOrEqual(2);

      const removed = await subs.writer.remove(written[0]!.id);
      await table.waitForOffset(removed.partition, removed.offset);
      const atTombstone = catchUps();
      await expect(table.settle(written[0]!.id)).resolves.toBe(false);
      expect(catchUps()).toBe(atTombstone);
    } finally {
      admins.mockRestore();
    }
  });

  it('keeps secrets sealed in the topic: the raw records hold no signing secret or password', async ({
    opened,
  }) => {
    const w = makeWebhook({ auth: { type: 'basic', username: 'u', password: 'correct-horse' } });
    await subs.writer.put(w);
    const raw: string[] = [];
    const consumer = opened.own(env.kafka.consumer({ groupId: uniq('g'), maxWaitTimeInMs: 100 }), (c) =>
      c.disconnect(),
    );
    await consumer.connect();
    await consumer.subscribe({ topic: subs.topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => void raw.push(message.value?.toString() ?? ''),
    });
    await waitFor(() => raw.some((r) => r.includes(w.id)));
    await consumer.disconnect();
    const text = raw.join('\n');
    expect(text).not.toContain(w.secrets[0]!.value);
    expect(text).not.toContain('correct-horse');
  });

  it('skips a record it cannot parse and keeps going', async ({ opened }) => {
    const table = await open(opened);
    const [sent] = await producer.send(subs.topic, [{ key: 'junk', value: '{not json' }]);
    await table.waitForOffset(sent!.partition, Number(sent!.baseOffset));
    const w = makeWebhook();
    const r = await subs.writer.put(w);
    await table.waitForOffset(r.partition, r.offset);
    expect(table.get(w.id)).toEqual(w);
    expect(table.get('junk')).toBeUndefined();
  });

  it('skips a near-miss document (events an object) and keeps applying; a table opened after it starts', async ({
    opened,
  }) => {
    const running = await open(opened);
    const w = makeWebhook();
    const good = await subs.writer.put(w);
    await running.waitForOffset(good.partition, good.offset);
    // The record seen in production: right fields, but `events` is an object, so `for..of` threw.
    const id = uniq('bad');
    const bad = { ...sealWebhook(subs.box, { ...w, id }), events: { 0: 'activity.delivered' } };
    const [sent] = await producer.send(subs.topic, [{ key: bad.id, value: JSON.stringify(bad) }]);
    await running.waitForOffset(sent!.partition, Number(sent!.baseOffset));
    const later = makeWebhook();
    const r = await subs.writer.put(later);
    await running.waitForOffset(r.partition, r.offset);
    expect(running.get(later.id)).toEqual(later);
    expect(running.get(bad.id)).toBeUndefined();
    const restarted = await open(opened);
    await restarted.waitForOffset(r.partition, r.offset);
    expect(restarted.get(later.id)).toEqual(later);
    expect(restarted.get(bad.id)).toBeUndefined();
  });

  it('keeps a filter, and skips and counts a document whose filter does not compile, keeping the last good one', async ({
    opened,
  }) => {
    const metrics = new Registry();
    const table = opened.own(
      new SubscriptionTable({
        kafka: env.kafka,
        topic: subs.topic,
        box: subs.box,
        logger: createLogger({ name: 'test', level: 'silent' }),
        metrics,
        groupPrefix: env.prefix,
      }),
      (t) => t.stop(),
    );
    await table.start();
    // The topic holds the earlier tests' invalid records too: count from here.
    const invalidCount = async () =>
      ((await metrics.getSingleMetric('webhooks_subscription_records_total')?.get())?.values ?? []).find(
        (c) => c.labels.result === 'invalid',
      )?.value ?? 0;
    const before = await invalidCount();
    const filter = { data: { email: { tags: { $in: ['orders'] } } } };
    const w = makeWebhook({ filter });
    const good = await subs.writer.put(w);
    await table.waitForOffset(good.partition, good.offset);
    expect(table.get(w.id)?.filter).toEqual(filter);
    // Deeper than the limit and an unknown operator: valid JSON of the right shape, refused by compileFilter.
    const invalid = [
      { $and: [{ a: { $regex: '(a+)+$' } }] },
      { a: { a: { a: { a: { a: { a: { a: { a: { a: 1 } } } } } } } } },
    ];
    // Wait for the invalid records' own offsets: they share w's partition, which a later record keyed
    // otherwise may not (waiting on that one raced the count in CI).
    for (const bad of invalid) {
      const doc = { ...sealWebhook(subs.box, { ...w, version: w.version + 1 }), filter: bad };
      const [sent] = await producer.send(subs.topic, [{ key: w.id, value: JSON.stringify(doc) }]);
      await table.waitForOffset(sent!.partition, Number(sent!.baseOffset));
    }
    const later = makeWebhook();
    const r = await subs.writer.put(later);
    await table.waitForOffset(r.partition, r.offset);
    expect(table.get(later.id)).toEqual(later);
    expect(table.get(w.id)).toEqual(w);
    expect(await invalidCount()).toBe(before + 2);
  });
});
