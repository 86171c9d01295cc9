/**
 * Exactly once from email.events to webhooks.batches, with the real fan-out and batcher processes:
 * SIGKILLed mid-stream and restarted, and scaled out to two instances per consumer group. The batches
 * topic, read committed, must hold every (event, webhook) pair exactly once.
 */
import { type BatchRecord, SecretBox, type Webhook } from '@hookpost/contracts';
import type { EmailEvent } from '@hookpost/events';
import { MtaProducer } from '@hookpost/events';
import { partitionForKey, provisionTopics, topicCatalog } from '@hookpost/kafka';
import { eventGenerator } from '@hookpost/loadgen';
import { describe, expect } from 'vitest';
import { type TestEnv, uniq, waitFor } from '../support/env.ts';
import { EXACTLY_ONCE, exactlyOnceReport } from '../support/exactly-once.ts';
import { integrationTest, type Owner } from '../support/fixtures.ts';
import { tail } from '../support/pipeline.ts';
import { metricsText, metricValue, type RunningProcess, type spawnService } from '../support/services.ts';
import { makeWebhook, subscriptions } from '../support/webhooks.ts';

const PARTITIONS = 3;
const it = integrationTest({ partitions: PARTITIONS });
let env: TestEnv;
it.beforeAll(({ env: e }) => {
  env = e;
});

/**
 * A pipeline on its own topics: subscriptions written, events producer, batches reader, processes on
 * demand. What it opens is closed by `opened` after the test; its processes by `spawn` at the file's end.
 */
async function pipeline({
  opened,
  spawn,
}: {
  opened: Owner;
  spawn: (...args: Parameters<typeof spawnService>) => RunningProcess;
}) {
  const prefix = `${env.prefix}${uniq('p')}.`;
  const catalog = topicCatalog({ prefix, partitions: PARTITIONS });
  const t = catalog.topics;
  await provisionTopics(env.admin, [t.events, t.subscriptions, t.dispatch, t.batches, t.dlq]);
  const boxSpec = SecretBox.generateSpec();
  const subs = await subscriptions({ ...env, catalog }, new SecretBox(boxSpec));
  opened.own(subs.writer, (w) => w.close());
  // Domains chosen so every input partition gets events: the two-instance test needs work on each.
  const domains: string[] = [];
  const covered = new Set<number>();
  for (let i = 0; domains.length < 4; i += 1) {
    const d = `${prefix}d${i}`;
    const p = partitionForKey(d, PARTITIONS);
    if (!covered.has(p) || covered.size === PARTITIONS) {
      covered.add(p);
      domains.push(d);
    }
  }
  const webhooks: Webhook[] = [];
  for (let i = 0; i < 12; i += 1) {
    webhooks.push(
      makeWebhook({
        domain_id: domains[i % domains.length]!,
        events:
          i % 3 === 0 ? ['activity.sent', 'activity.delivered', 'activity.opened'] : ['activity.delivered'],
        // Small batches: full ones are produced inside open transactions all the time, so a kill lands in one.
        // Two at max_events 1 (JSON and JSON Lines): the fan-out writes their batches of one itself.
        batch: { max_events: i === 2 || i === 7 ? 1 : 5 + i, window_ms: 30_000 },
        format: i % 2 ? 'jsonl' : 'json',
      }),
    );
  }
  for (const w of webhooks) await subs.writer.put(w);

  const producer = opened.own(
    new MtaProducer({
      kafka: env.kafka,
      registry: env.registry,
      registryUrl: env.registryUrl,
      topic: t.events.name,
    }),
    (m) => m.close(),
  );
  await producer.connect();
  const tailed = async <T>(topic: string, options?: Parameters<typeof tail>[2]) =>
    opened.own(await tail<T>(env, topic, options), (x) => x.close());
  const batches = await tailed<BatchRecord>(t.batches.name);
  // Read uncommitted too: records there that read_committed never shows are aborted transactions.
  const raw = {
    dispatch: await tailed<unknown>(t.dispatch.name, { readUncommitted: true }),
    dispatchCommitted: await tailed<unknown>(t.dispatch.name),
    batches: await tailed<unknown>(t.batches.name, { readUncommitted: true }),
  };

  const common = {
    TOPIC_PREFIX: prefix,
    TOPIC_PARTITIONS: String(PARTITIONS),
    KAFKA_BROKERS: env.brokers,
    SCHEMA_REGISTRY_URL: env.registryUrl,
    SUBSCRIPTION_ENCRYPTION_KEYS: boxSpec,
    LOG_LEVEL: 'warn',
    FANOUT_SESSION_TIMEOUT_MS: '6000',
    BATCHER_SESSION_TIMEOUT_MS: '6000',
    BATCH_WINDOW_MS: '700',
  };
  const start = async (svc: 'fanout' | 'batcher') => {
    const p = spawn(svc, { ...common, LOG_LEVEL: 'info' });
    await p.ready();
    return p;
  };

  const gen = eventGenerator({
    domains: domains.length,
    seed: 7,
    domainId: (i) => domains[i]!,
    mix: { 'activity.sent': 3, 'activity.delivered': 4, 'activity.opened': 2, 'activity.clicked': 1 },
  });
  const expected = new Map<string, number>();
  const send = async (n: number) => {
    const list: EmailEvent[] = Array.from({ length: n }, gen);
    for (const e of list)
      for (const w of webhooks)
        if (w.domain_id === e.domain_id && (w.events as string[]).includes(e.type))
          expected.set(`${e.id}>${w.id}`, 0);
    await producer.send(list);
  };
  const counts = () => {
    const seen = new Map<string, number>();
    for (const b of batches.records)
      for (const id of b.value.event_ids) {
        const k = `${id}>${b.value.webhook_id}`;
        seen.set(k, (seen.get(k) ?? 0) + 1);
      }
    return seen;
  };
  const pos = (r: { partition: number; offset: string }) => `${r.partition}@${r.offset}`;
  const singles = new Set(webhooks.filter((w) => w.batch?.max_events === 1).map((w) => w.id));
  /**
   * Records only read_uncommitted has seen: open (or aborted) transactions' output. On the batches
   * topic only the batcher's: the fan-out's batches of one (webhooks at max_events 1) are there too.
   */
  const uncommittedAhead = (stage: 'dispatch' | 'batches') => {
    const committed = new Set((stage === 'dispatch' ? raw.dispatchCommitted : batches).records.map(pos));
    return raw[stage].records.filter(
      (r) => !committed.has(pos(r)) && !(stage === 'batches' && singles.has(r.key ?? '')),
    ).length;
  };
  return { start, send, expected, counts, uncommittedAhead, batches, singles };
}

function assertExactlyOnce(p: Awaited<ReturnType<typeof pipeline>>) {
  expect(exactlyOnceReport(p.counts(), p.expected)).toEqual(EXACTLY_ONCE);
  const all = p.batches.records.map((b) => b.value);
  // Ids are unique: a batch replayed after an abort (the fan-out's batches of one too) left once.
  expect(new Set(all.map((b) => b.batch_id)).size).toBe(all.length);
  const ones = all.filter((b) => p.singles.has(b.webhook_id));
  expect(ones.length).toBeGreaterThan(0);
  expect(ones.every((b) => b.event_ids.length === 1)).toBe(true);
}

/** Sends `chunks` chunks of `size` events, calling `during(i)` between them (where the kills happen). */
async function stream(
  p: Awaited<ReturnType<typeof pipeline>>,
  chunks: number,
  size: number,
  during: (i: number) => Promise<void>,
) {
  for (let i = 0; i < chunks; i += 1) {
    await p.send(size);
    await during(i);
  }
}

describe('exactly once between Kafka stages', () => {
  it('SIGKILL of the fan-out mid-stream and a restart: every (event, webhook) pair in the batches exactly once', async ({
    opened,
    spawn,
  }) => {
    const p = await pipeline({ opened, spawn });
    let fanout = await p.start('fanout');
    await p.start('batcher');
    await stream(p, 10, 250, async (i) => {
      if (i === 3 || i === 7) {
        // Mid-stream, while a transaction holds output nobody may see yet: kill, no chance to clean up.
        const burst = p.send(1500);
        await waitFor(() => p.uncommittedAhead('dispatch') > 0, { what: 'an open fan-out transaction' });
        await fanout.kill('SIGKILL');
        await burst;
        fanout = await p.start('fanout');
      }
    });
    await waitFor(() => p.counts().size >= p.expected.size, {
      timeoutMs: 50_000,
      what: 'every pair batched',
    });
    assertExactlyOnce(p);
    // The webhooks at max_events 1 had their batches from the fan-out, in its transactions.
    expect(metricValue(await metricsText(fanout), 'webhooks_fanout_single_batches_total')).toBeGreaterThan(0);
    // A fan-out transaction lasts a few milliseconds, so whether a kill lands inside one is luck;
    // the batcher test below proves that case (its transactions stay open for a window).
    console.info(`fan-out kills left ${p.uncommittedAhead('dispatch')} aborted dispatch records`);
  });

  it('SIGKILL of the batcher mid-stream and a restart: every pair exactly once', async ({
    opened,
    spawn,
  }) => {
    const p = await pipeline({ opened, spawn });
    await p.start('fanout');
    let batcher = await p.start('batcher');
    await stream(p, 12, 250, async (i) => {
      if (i === 4 || i === 8) {
        // Full batches already produced in the window's open transaction are in flight now.
        await waitFor(() => p.uncommittedAhead('batches') > 0, { what: 'an open batcher transaction' });
        await batcher.kill('SIGKILL');
        batcher = await p.start('batcher');
      }
    });
    await waitFor(() => p.counts().size >= p.expected.size, {
      timeoutMs: 50_000,
      what: 'every pair batched',
    });
    assertExactlyOnce(p);
    // The killed instances' open transactions held batches: aborted, seen only read_uncommitted.
    expect(p.uncommittedAhead('batches')).toBeGreaterThan(0);
  });

  it('two instances of each service in one group share the partitions and produce the same result as one', async ({
    opened,
    spawn,
  }) => {
    const p = await pipeline({ opened, spawn });
    const all = await Promise.all([
      p.start('fanout'),
      p.start('fanout'),
      p.start('batcher'),
      p.start('batcher'),
    ]);
    await stream(p, 6, 300, async () => {});
    await waitFor(() => p.counts().size >= p.expected.size, {
      timeoutMs: 50_000,
      what: 'every pair batched',
    });
    assertExactlyOnce(p);
    // Both instances of each service did part of the work (each owns at least one partition).
    for (const proc of all) {
      expect(metricValue(await metricsText(proc), 'webhooks_transactions_total')).toBeGreaterThan(0);
    }
  });
});
