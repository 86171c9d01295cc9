/**
 * The real batcher process reading email.events itself (BATCHER_INPUT=events; no fan-out), against the
 * real broker and registry: fast-check's hostile bytes beside thousands of good events over every
 * partition, and repeated SIGKILLs between mid-window commits and window ends under steady load. Every
 * good (event, webhook) pair ends in exactly one committed batch, every suspended pair in exactly one
 * dead letter, every hostile record in a poison dead letter with its exact bytes, and the group's
 * committed offset reaches the end of every partition (liveness, asserted). Replayed `suspended` letters
 * go to webhooks.dispatch, which the same process reads too.
 */
import { type BatchRecord, type DeadLetter, SecretBox, type Webhook } from '@hookpost/contracts';
import { replay, replayLedgerTopic } from '@hookpost/deadletters';
import { type EmailEvent, emailEventSchema, registerSchema, valueSubject } from '@hookpost/events';
import { provisionTopics, type SerialProducer } from '@hookpost/kafka';
import type { SubscriptionWriter } from '@hookpost/subscriptions';
import avro from 'avsc';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { eventArbitrary } from '../ops/hostile/topics.ts';
import { type TestEnv, uniq, waitFor } from '../support/env.ts';
import { EXACTLY_ONCE, exactlyOnceReport } from '../support/exactly-once.ts';
import { integrationTest } from '../support/fixtures.ts';
import { mta, type Tail } from '../support/pipeline.ts';
import type { RunningProcess, spawnService } from '../support/services.ts';
import { makeWebhook, subscriptions } from '../support/webhooks.ts';

const PARTITIONS = 3;
const it = integrationTest({ partitions: PARTITIONS });
let env: TestEnv;
let producer: SerialProducer;
let writer: SubscriptionWriter;
let events: Awaited<ReturnType<typeof mta>>;
let batches: Tail<BatchRecord>;
let dlq: Tail<DeadLetter>;
let spawn: (...args: Parameters<typeof spawnService>) => RunningProcess;
const boxSpec = SecretBox.generateSpec();
const GROUP = () => `${env.prefix}hookpost-batcher.events`;

it.beforeAll(async ({ env: e, producer: p, spawn: s, owned, tailOf }) => {
  [env, producer, spawn] = [e, p, s];
  const t = env.catalog.topics;
  await provisionTopics(env.admin, [
    t.events,
    t.subscriptions,
    t.dispatch,
    t.batches,
    t.watermarks,
    t.eventWatermarks,
    t.dlq,
    replayLedgerTopic(env.prefix),
  ]);
  writer = owned.own((await subscriptions(env, new SecretBox(boxSpec))).writer, (w) => w.close());
  events = await mta(env);
  owned.own(events.producer, (x) => x.close());
  batches = await tailOf<BatchRecord>(t.batches.name);
  dlq = await tailOf<DeadLetter>(t.dlq.name);
});

/** What every service of this file needs: the suite's topics, broker, registry and key. */
function serviceEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    TOPIC_PREFIX: env.prefix,
    TOPIC_PARTITIONS: String(PARTITIONS),
    KAFKA_BROKERS: env.brokers,
    SCHEMA_REGISTRY_URL: env.registryUrl,
    SUBSCRIPTION_ENCRYPTION_KEYS: boxSpec,
    ...extra,
  };
}

async function startBatcher(extra: Record<string, string> = {}) {
  const p = spawn(
    'batcher',
    serviceEnv({
      BATCHER_INPUT: 'events',
      BATCHER_SESSION_TIMEOUT_MS: '6000',
      BATCH_WINDOW_MS: '5000',
      ...extra,
    }),
  );
  await p.ready();
  return p;
}

/** The two-stage deployment: a fan-out and a batcher at BATCHER_INPUT=dispatch, both ready. */
async function startTwoStage(common: Record<string, string>) {
  const fanout = spawn('fanout', common);
  const batcher = spawn('batcher', common);
  await Promise.all([fanout.ready(), batcher.ready()]);
  return { fanout, batcher };
}

/** Committed offset of the batcher's group (or another) at the end of every partition of the events topic. */
async function caughtUp(groupId = GROUP()): Promise<boolean> {
  const ends = await env.admin.fetchTopicOffsets(env.catalog.topics.events.name);
  const [committed] = await env.admin.fetchOffsets({
    groupId,
    topics: [env.catalog.topics.events.name],
  });
  // A partition no record went to has nothing to commit.
  return ends.every(
    (end) =>
      Number(end.high) === Number(end.low) ||
      Number(committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? -1) >=
        Number(end.high),
  );
}

/** Each domain's webhooks: varied batch settings, one suspended; every one subscribed to its events. */
function domainsOf(n: number) {
  return Array.from({ length: n }, (_, i) => {
    const domain = uniq(`dom${i}`);
    const all = ['activity.delivered', 'activity.opened'] as const;
    return {
      domain,
      active: [
        makeWebhook({ domain_id: domain, events: [...all], batch: { max_events: 1, window_ms: 1000 } }),
        makeWebhook({ domain_id: domain, events: [...all], batch: { max_events: 7, window_ms: 800 } }),
        makeWebhook({
          domain_id: domain,
          events: ['activity.delivered'],
          batch: { max_events: 500, window_ms: 2500 },
        }),
      ],
      suspended: makeWebhook({ domain_id: domain, events: [...all], status: 'suspended' }),
    };
  });
}

/** The pairs a list of events makes with its domains' webhooks: batched ones and suspended ones. */
function expectedPairs(list: EmailEvent[], doms: ReturnType<typeof domainsOf>) {
  const byDomain = new Map(doms.map((d) => [d.domain, d]));
  const batched = new Set<string>();
  const suspended = new Set<string>();
  for (const e of list) {
    const d = byDomain.get(e.domain_id)!;
    for (const w of d.active) if ((w.events as string[]).includes(e.type)) batched.add(`${e.id}>${w.id}`);
    suspended.add(`${e.id}>${d.suspended.id}`);
  }
  return { batched, suspended };
}

function counts(webhooks: Set<string>) {
  const batched = new Map<string, number>();
  for (const b of batches.records)
    if (webhooks.has(b.value.webhook_id))
      for (const id of b.value.event_ids) {
        const k = `${id}>${b.value.webhook_id}`;
        batched.set(k, (batched.get(k) ?? 0) + 1);
      }
  const suspended = new Map<string, number>();
  for (const l of dlq.records)
    if (l.value.reason === 'suspended' && webhooks.has(l.value.webhook_id ?? ''))
      for (const d of l.value.dispatch ?? []) {
        const k = `${d.event_id}>${d.webhook_id}`;
        suspended.set(k, (suspended.get(k) ?? 0) + 1);
      }
  return { batched, suspended };
}

/** Waits until every pair is out and the group committed to the end; then each pair once, no other. */
async function exactlyOnce(want: ReturnType<typeof expectedPairs>, hooks: Set<string>, group = GROUP()) {
  await waitFor(
    () => {
      const c = counts(hooks);
      return c.batched.size >= want.batched.size && c.suspended.size >= want.suspended.size;
    },
    { timeoutMs: 180_000, what: 'every pair batched or dead-lettered' },
  );
  await waitFor(() => caughtUp(group), {
    timeoutMs: 60_000,
    what: 'the group committed to the end of every partition',
  });
  const c = counts(hooks);
  expect(exactlyOnceReport(c.batched, want.batched)).toEqual(EXACTLY_ONCE);
  expect(exactlyOnceReport(c.suspended, want.suspended)).toEqual(EXACTLY_ONCE);
}

async function putAll(doms: ReturnType<typeof domainsOf>) {
  for (const d of doms) for (const w of [...d.active, d.suspended]) await writer.put(w);
}

function makeEvents(doms: ReturnType<typeof domainsOf>, n: number): EmailEvent[] {
  return Array.from({ length: n }, (_, i) =>
    events.make(doms[i % doms.length]!.domain, i % 3 === 0 ? 'activity.opened' : 'activity.delivered'),
  );
}

// First in the file: the batcher's events group has no offsets yet, as at a real switch.
describe('switching from the fan-out to BATCHER_INPUT=events', () => {
  it("refuses to start while the fan-out runs; once it stopped, takes over the fan-out's offsets, and the fan-out the batcher's when switching back, twice: no event batched twice, none skipped", async () => {
    const doms = domainsOf(3);
    await putAll(doms);
    const hooks = new Set(doms.flatMap((d) => [...d.active, d.suspended].map((w) => w.id)));
    const common = serviceEnv({ BATCH_WINDOW_MS: '2000' });
    // The two-stage pipeline batches the first events.
    const { fanout, batcher: twoStage } = await startTwoStage(common);
    const before = makeEvents(doms, 600);
    await events.producer.send(before);
    const first = expectedPairs(before, doms);
    await waitFor(
      () => {
        const c = counts(hooks);
        return c.batched.size >= first.batched.size && c.suspended.size >= first.suspended.size;
      },
      { timeoutMs: 60_000, what: 'the two-stage pipeline batched the first events' },
    );

    const early = spawn('batcher', { ...common, BATCHER_INPUT: 'events' });
    await waitFor(() => early.child.exitCode !== null, {
      timeoutMs: 60_000,
      what: 'the events batcher to refuse',
    });
    expect(early.child.exitCode).not.toBe(0);
    expect(early.output()).toMatch(/stop the fan-out first/);

    await fanout.kill('SIGTERM');
    await twoStage.kill('SIGTERM');
    // Produced while nothing reads them: the events batcher must start at them, not after them.
    const between = makeEvents(doms, 400);
    await events.producer.send(between);
    const batcher = await startBatcher({ BATCH_WINDOW_MS: '2000' });
    const after = makeEvents(doms, 300);
    await events.producer.send(after);
    let sent = [...before, ...between, ...after];
    await exactlyOnce(expectedPairs(sent, doms), hooks);
    expect(batcher.output()).toMatch(/took over \S*hookpost-fanout's committed offsets/);

    // And back to the two-stage deployment: the fan-out refuses while the events batcher runs, then
    // begins where it stopped, though its own group still holds the offsets of its first run.
    const refused = spawn('fanout', common);
    await waitFor(() => refused.child.exitCode !== null, {
      timeoutMs: 60_000,
      what: 'the fan-out to refuse',
    });
    expect(refused.child.exitCode).not.toBe(0);
    expect(refused.output()).toMatch(/set BATCHER_INPUT=dispatch on every batcher/);
    await batcher.kill('SIGTERM');
    const stopped = makeEvents(doms, 200);
    await events.producer.send(stopped);
    const { fanout: fanoutAgain, batcher: twoStageAgain } = await startTwoStage(common);
    const later = makeEvents(doms, 200);
    await events.producer.send(later);
    sent = [...sent, ...stopped, ...later];
    await exactlyOnce(expectedPairs(sent, doms), hooks, `${env.prefix}hookpost-fanout`);
    expect(fanoutAgain.output()).toMatch(/took over \S*hookpost-batcher\.events's committed offsets/);

    // Once more to the events input, whose group now holds offsets from before the fan-out's second run.
    await fanoutAgain.kill('SIGTERM');
    await twoStageAgain.kill('SIGTERM');
    const gap = makeEvents(doms, 200);
    await events.producer.send(gap);
    const batcherAgain = await startBatcher({ BATCH_WINDOW_MS: '2000' });
    const last = makeEvents(doms, 200);
    await events.producer.send(last);
    sent = [...sent, ...gap, ...last];
    await exactlyOnce(expectedPairs(sent, doms), hooks);
    expect(batcherAgain.output()).toMatch(/took over \S*hookpost-fanout's committed offsets/);
    await batcherAgain.kill('SIGTERM');
  }, 400_000);

  it('a switch to the fan-out with batches still open sends nothing twice: the fan-out skips what the events batcher sent past its committed offset, by its watermarks', async () => {
    // Per domain: a webhook at max_events 1 (each event leaves at once), one whose batch stays open
    // (500 events, 60 s), and a suspended one (dead-lettered at once). The open batch holds the events
    // group's committed offset at the first event, so the fan-out reads every event again.
    const all = ['activity.delivered', 'activity.opened'] as const;
    const doms = Array.from({ length: 3 }, (_, i) => {
      const domain = uniq(`open${i}`);
      return {
        domain,
        active: [
          makeWebhook({ domain_id: domain, events: [...all], batch: { max_events: 1, window_ms: 1000 } }),
          makeWebhook({ domain_id: domain, events: [...all], batch: { max_events: 500, window_ms: 60_000 } }),
        ],
        suspended: makeWebhook({ domain_id: domain, events: [...all], status: 'suspended' }),
      };
    });
    await putAll(doms);
    const hooks = new Set(doms.flatMap((d) => [...d.active, d.suspended].map((w) => w.id)));
    const ones = new Set(doms.map((d) => d.active[0]!.id));
    const open = new Set(doms.map((d) => d.active[1]!.id));
    const batcher = await startBatcher({ BATCH_WINDOW_MS: '60000' });
    const before = makeEvents(doms, 600);
    await events.producer.send(before);
    const first = expectedPairs(before, doms);
    const sentAlready = [...first.batched].filter((k) => ones.has(k.split('>')[1]!));
    await waitFor(
      () => {
        const c = counts(hooks);
        return sentAlready.every((k) => c.batched.has(k)) && c.suspended.size >= first.suspended.size;
      },
      { timeoutMs: 60_000, what: 'the batches of one and the suspended letters out' },
    );
    expect([...counts(hooks).batched.keys()].some((k) => open.has(k.split('>')[1]!))).toBe(false);
    await batcher.kill('SIGTERM');

    const common = serviceEnv({ BATCH_WINDOW_MS: '2000' });
    const { fanout, batcher: twoStage } = await startTwoStage(common);
    const after = makeEvents(doms, 300);
    await events.producer.send(after);
    await exactlyOnce(expectedPairs([...before, ...after], doms), hooks, `${env.prefix}hookpost-fanout`);
    await fanout.kill('SIGTERM');
    await twoStage.kill('SIGTERM');
  }, 240_000);
});

describe('batcher reading the events itself', () => {
  it('hostile bytes beside 3 000 good events over every partition: good pairs batched once with their payloads, suspended ones dead-lettered once, hostile ones poison with their bytes, every partition committed to its end', async () => {
    const doms = domainsOf(6);
    await putAll(doms);
    const hooks = new Set(doms.flatMap((d) => [...d.active, d.suspended].map((w) => w.id)));
    const batcher = await startBatcher();
    const schemaId = await registerSchema(
      env.registry,
      env.registryUrl,
      valueSubject(env.catalog.topics.events.name),
      emailEventSchema(),
    );
    const reader = avro.Type.forSchema(emailEventSchema() as avro.Schema);
    const hostile = fc.sample(
      eventArbitrary(
        schemaId,
        reader,
        doms.map((d) => d.domain),
      ),
      { numRuns: 300, seed: 15 },
    );
    const good = makeEvents(doms, 3000);
    // In slices, hostile records between them on every partition (their keys are the domains, or none).
    for (let i = 0; i < 30; i += 1) {
      await events.producer.send(good.slice(i * 100, (i + 1) * 100));
      await producer.send(
        env.catalog.topics.events.name,
        hostile.slice(i * 10, (i + 1) * 10).map((h, k) => ({
          key: h.key,
          value: h.value,
          headers: { ...h.headers, 'x-hostile': String(i * 10 + k) },
          partition: k % PARTITIONS,
        })),
      );
    }
    const want = expectedPairs(good, doms);
    await exactlyOnce(want, hooks);

    // Each body holds the payload of the event its id names, for its own webhook.
    const urls = new Map(doms.flatMap((d) => d.active.map((w) => [w.id, w.url])));
    const byId = new Map(good.map((e) => [e.id, e]));
    for (const b of batches.records.filter((x) => urls.has(x.value.webhook_id))) {
      const body = JSON.parse(b.value.body) as Record<string, unknown>[];
      expect(body.map((p) => (p.data as { id: string }).id)).toEqual(b.value.event_ids);
      for (const p of body) {
        const e = byId.get((p.data as { id: string }).id)!;
        expect(p).toMatchObject({
          type: e.type,
          domain_id: e.domain_id,
          webhook_id: b.value.webhook_id,
          url: urls.get(b.value.webhook_id),
        });
      }
    }

    // Every hostile record: a poison (or unknown_type) dead letter with its exact bytes, once.
    const letters = () =>
      dlq.records.filter(
        (l) =>
          l.value.source?.topic === env.catalog.topics.events.name &&
          l.value.source.headers['x-hostile'] !== undefined,
      );
    await waitFor(() => letters().length >= hostile.length, {
      timeoutMs: 30_000,
      what: 'every hostile record dead-lettered',
    });
    const byIndex = new Map<string, number>();
    for (const l of letters()) {
      const i = l.value.source!.headers['x-hostile']!;
      byIndex.set(i, (byIndex.get(i) ?? 0) + 1);
      const h = hostile[Number(i)]!;
      expect(['poison', 'unknown_type']).toContain(l.value.reason);
      expect(l.value.error).toBeTruthy();
      expect(l.value.source!.value_b64).toBe(h.value === null ? null : h.value.toString('base64'));
    }
    expect([...byIndex.values()].every((n) => n === 1)).toBe(true);
    expect(byIndex.size).toBe(hostile.length);

    // The suspended webhook of one domain resumes and its letters are replayed: they go to
    // webhooks.dispatch, which this batcher reads too, and come out batched once each.
    const d0 = doms[0]!;
    const resumed = { ...d0.suspended, status: 'active' as const, version: d0.suspended.version + 1 };
    await writer.put(resumed);
    const result = await replay({
      kafka: env.kafka,
      topics: {
        dlq: env.catalog.topics.dlq.name,
        batches: env.catalog.topics.batches.name,
        dispatch: env.catalog.topics.dispatch.name,
        ledger: replayLedgerTopic(env.prefix).name,
      },
      filter: { webhookId: resumed.id },
      lookup: (id) => (id === resumed.id ? resumed : undefined),
      by: 'test',
      groupPrefix: env.prefix,
    });
    const held = [...want.suspended].filter((k) => k.endsWith(`>${resumed.id}`));
    expect(result).toMatchObject({ ok: true, report: { replayed: held.length } });
    const replayed = () => counts(new Set([resumed.id])).batched;
    await waitFor(() => replayed().size >= held.length, {
      timeoutMs: 60_000,
      what: 'the replayed letters batched',
    });
    expect(exactlyOnceReport(replayed(), new Set(held))).toEqual(EXACTLY_ONCE);
    expect(batcher.child.exitCode).toBeNull();
    await batcher.kill('SIGTERM');
  }, 420_000);

  it('repeated SIGKILLs between mid-window commits and window ends under steady load: every pair in exactly one committed batch or dead letter, batch ids unique', async () => {
    const doms = domainsOf(4);
    // One webhook whose window outlasts every kill: its batch stays open across them.
    const long = makeWebhook({
      domain_id: doms[0]!.domain,
      events: ['activity.delivered', 'activity.opened'],
      batch: { max_events: 500, window_ms: 30_000 },
    });
    await putAll(doms);
    await writer.put(long);
    const hooks = new Set([long.id, ...doms.flatMap((d) => [...d.active, d.suspended].map((w) => w.id))]);
    const sent: EmailEvent[] = [];
    let load = true;
    const steady = (async () => {
      for (let round = 0; load; round += 1) {
        const list = makeEvents(doms, 8 + (round % 5));
        await events.producer.send(list);
        sent.push(...list);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const fastHook = doms[0]!.active[0]!;
    const committedFor = (w: Webhook) => batches.records.filter((b) => b.value.webhook_id === w.id).length;
    try {
      let batcher = await startBatcher();
      for (let kill = 0; kill < 4; kill += 1) {
        const before = committedFor(fastHook);
        await waitFor(() => committedFor(fastHook) > before + 3, {
          timeoutMs: 40_000,
          what: 'a mid-window commit of the new instance',
        });
        await batcher.kill('SIGKILL');
        batcher = await startBatcher();
      }
    } finally {
      load = false;
      await steady;
    }
    const want = expectedPairs(sent, doms);
    for (const e of sent) if (e.domain_id === long.domain_id) want.batched.add(`${e.id}>${long.id}`);
    await exactlyOnce(want, hooks);
    const mine = batches.records.filter((b) => hooks.has(b.value.webhook_id));
    expect(new Set(mine.map((b) => b.value.batch_id)).size).toBe(mine.length);
    console.info(
      `${want.batched.size} pairs in ${mine.length} batches, ${want.suspended.size} suspended, across 4 SIGKILLs`,
    );
  }, 300_000);
});
