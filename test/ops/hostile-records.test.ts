/**
 * Hostile records on every topic the product reads, against the real services (fan-out, batcher,
 * delivery with its retry tiers and suspender, the API) spawned as processes. fast-check produces
 * arbitrary bytes, arbitrary JSON shapes and real-shaped records with a field mutated, with arbitrary
 * headers and x-due-at values no tier can honour, interleaved with good records. Each run then waits
 * until: every good record took effect, every bad record on a work topic is a poison dead letter with
 * its exact bytes and a reason, every bad record elsewhere is skipped and counted, every group's lag
 * is 0 — and no process exited. The readiness probes answer 200 at the end.
 *
 * webhooks.operational has no reader in the product today: its hostile records are produced (a reader
 * added later meets them), and all this can check is that they disturb nothing. The replay ledger is
 * read by the API's resend, which each run calls. HOSTILE_SEED replays a failing run's seed.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashToken } from '@hookpost/api';
import { SecretBox, sealWebhook, type Webhook } from '@hookpost/contracts';
import { replayLedgerTopic } from '@hookpost/deadletters';
import { emailEventSchema, type MtaProducer, registerSchema, valueSubject } from '@hookpost/events';
import { type Message, provisionTopics, type SerialProducer } from '@hookpost/kafka';
import { eventGenerator } from '@hookpost/loadgen';
import type { Receiver } from '@hookpost/sender';
import fc from 'fast-check';
import { expect } from 'vitest';
import { type TestEnv, waitFor } from '../support/env.ts';
import { emailEvents } from '../support/factories.ts';
import { integrationTest } from '../support/fixtures.ts';
import { mta as mtaFor } from '../support/pipeline.ts';
import type { RunningProcess } from '../support/services.ts';
import { makeWebhook } from '../support/webhooks.ts';
import { type HostileRecord, interleave } from './hostile/arbitraries.ts';
import {
  allAlive,
  apiCall,
  apiUrl,
  fp,
  json,
  lagsAreZero,
  poisonCovered,
  skipsCounted,
} from './hostile/checks.ts';
import { receivedIds, type TopicTail, tailTopics } from './hostile/observe.ts';
import * as T from './hostile/topics.ts';

const RUNS = 5;
const PER_RUN = 80;
const TIERS = ['1s', '2s'];
const TOKEN = 'tok-hostile-0123456789';
const it = integrationTest({ partitions: 2, retryTiers: TIERS });
let env: TestEnv;
let receiver: Receiver;
let dataDir: string;
// The fixtures' idempotent producer: a retried plain send could store a record twice, and the skips
// per topic are counted exactly.
let producer: SerialProducer;
let mta: MtaProducer;
let tail: TopicTail;
// Spawned by the test through the `spawn` fixture, which stops them at the file's end.
const procs = new Map<string, RunningProcess>();

it.beforeAll(async ({ env: e, receiver: r, producer: p, owned }) => {
  [env, receiver, producer] = [e, r, p];
  const specs = [...env.catalog.all(), replayLedgerTopic(env.prefix)];
  await waitFor(() => provisionTopics(env.admin, specs).then(() => true), { what: 'topics' });
  for (const s of specs)
    await waitFor(() => env.admin.fetchTopicOffsets(s.name).then(() => true), { what: `${s.name} leaders` });
  dataDir = owned.own(mkdtempSync(join(tmpdir(), 'hookpost-hostile-')), (d) =>
    rmSync(d, { recursive: true, force: true }),
  );
  mta = owned.own((await mtaFor(env)).producer, (m) => m.close());
}, 120_000);

const api = (method: string, path: string, body?: unknown) =>
  apiCall(procs.get('api')!, TOKEN, method, path, body);

it('hostile records on every topic: poison dead-lettered with their bytes or skipped and counted, good records take effect, nothing stops', async ({
  spawn,
  opened,
}) => {
  const t = env.catalog.topics;
  const ledger = replayLedgerTopic(env.prefix).name;
  const tierTopics = TIERS.map((x) => env.catalog.retryTopic(x));
  const keys = SecretBox.generateSpec();
  const box = new SecretBox(keys);
  const domain = `${env.prefix}d`;
  const hook = (name: string, d = domain): Webhook =>
    makeWebhook({
      domain_id: d,
      url: `${receiver.url}/ok/${name}`,
      batch: { max_events: 100, window_ms: 1_000 },
      timeout_ms: 5_000,
    });
  const trap = hook('trap', `${env.prefix}trap`);
  const good = [hook('g1'), hook('g2')];
  const victims = Array.from({ length: RUNS }, (_, i) => hook(`v${i}`, `${env.prefix}v`));
  const fresh = Array.from({ length: RUNS }, (_, i) => hook(`n${i}`, `${env.prefix}n${i}`));
  const subs = [trap, ...good, ...victims].map((w) => ({ key: w.id, value: json(sealWebhook(box, w)) }));
  await producer.send(t.subscriptions.name, subs);

  const common = {
    KAFKA_BROKERS: env.brokers,
    SCHEMA_REGISTRY_URL: env.registryUrl,
    TOPIC_PREFIX: env.prefix,
    TOPIC_PARTITIONS: '2',
    RETRY_TIERS: TIERS.join(','),
    SUBSCRIPTION_ENCRYPTION_KEYS: keys,
    BATCH_WINDOW_MS: '300',
    SSRF_ALLOW_LOOPBACK: 'true',
    DELIVERY_JITTER: '0',
    API_PORT: '0',
    API_HOST: '127.0.0.1',
    API_DATA_DIR: dataDir,
    API_TOKENS: JSON.stringify([
      { name: 'ops', sha256: hashToken(TOKEN), domains: ['*'], access: 'read-write' },
    ]),
    LOG_LEVEL: 'info',
  };
  for (const svc of ['fanout', 'batcher', 'delivery', 'api']) procs.set(svc, spawn(svc, common));
  await Promise.all([...procs.values()].map((p) => p.ready(90_000)));
  await waitFor(() => apiUrl(procs.get('api')!), { what: 'API listening' });
  const started = Date.now();
  const stamp = (what: string) => console.info(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);
  tail = opened.own(
    await tailTopics(
      env,
      [t.events.name, t.dispatch.name, t.batches.name, ...tierTopics, t.dlq.name],
      t.dlq.name,
    ),
    (x) => x.close(),
  );

  const schemaId = await registerSchema(
    env.registry,
    env.registryUrl,
    valueSubject(t.events.name),
    emailEventSchema(),
  );
  const runArb = T.runArbitrary({ trap, good, box, tiers: TIERS }, schemaId, domain, PER_RUN);

  const gen = emailEvents(domain, 'activity.delivered', 11);
  const expected = new Map<string, Set<string>>();
  const expect1 = (path: string, id: string) => {
    if (!expected.has(path)) expected.set(path, new Set());
    expected.get(path)!.add(id);
  };
  const poisonExpected: string[] = [];
  const counts: Record<string, number> = {};
  const count = (topic: string, n: number) => (counts[topic] = (counts[topic] ?? 0) + n);
  const send = async (topic: string, bad: HostileRecord[], goodOnes: HostileRecord[], at: number[]) => {
    count(topic, bad.length);
    const messages = interleave(bad, goodOnes, at) as Message[];
    await producer.send(topic, messages);
  };
  let run = 0;

  await fc.assert(
    fc.asyncProperty(runArb, async (r) => {
      const i = run++;
      const id = (p: string) => `${p}-${i}-${randomUUID()}`;
      // email.events: real events for the two good webhooks.
      const events = Array.from({ length: 8 }, gen);
      for (const e of events) for (const w of ['g1', 'g2']) expect1(`/ok/${w}`, e.id);
      await send(
        t.events.name,
        r.events,
        events.map((e) => ({ key: e.domain_id, value: mta.encode(e) })),
        r.at,
      );
      for (const b of r.events) poisonExpected.push(fp(t.events.name, b.key, b.value));
      // webhooks.dispatch, webhooks.batches, the tiers: hand-made good records beside the bad.
      const disp = [id('disp'), id('disp')];
      for (const e of disp) expect1('/ok/g1', e);
      await send(
        t.dispatch.name,
        r.dispatch,
        disp.map((e) => ({ key: good[0]!.id, value: json(T.dispatchRecord(good[0]!, e)) })),
        r.at,
      );
      const bat = [id('batch'), id('batch')];
      for (const e of bat) expect1('/ok/g2', e);
      await send(
        t.batches.name,
        r.batches,
        bat.map((e) => ({ key: good[1]!.id, value: json(T.batchRecord(good[1]!, [e])) })),
        r.at,
      );
      for (const b of [
        ...r.dispatch.map((x) => [t.dispatch.name, x] as const),
        ...r.batches.map((x) => [t.batches.name, x] as const),
      ])
        poisonExpected.push(fp(b[0], b[1].key, b[1].value));
      for (const [k, tier] of TIERS.entries()) {
        const ids = [id(`retry${tier}`), id(`retry${tier}`)];
        for (const e of ids) expect1('/ok/g2', e);
        const goods = ids.map((e, j) => ({
          key: good[1]!.id,
          value: json(T.retryRecord(good[1]!, [e], tier)),
          headers: { 'x-due-at': r.goodDue[k * 2 + j]! },
        }));
        await send(tierTopics[k]!, r.tiers[k]!, goods, r.at);
        for (const b of r.tiers[k]!) poisonExpected.push(fp(tierTopics[k]!, b.key, b.value));
        count(`due:${tier}`, r.tiers[k]!.length + goods.length);
      }
      // The DLQ: a good exhausted letter suspends its webhook; a second one is in the ledger already.
      const v = victims[i]!;
      const [letter, ledgered] = [T.deadLetter(v, [id('dlq')]), T.deadLetter(v, [id('ledgered')])];
      expect1(`/ok/v${i}`, letter.batch.event_ids[0]!);
      await send(
        t.dlq.name,
        r.dlq,
        [letter, ledgered].map((l) => ({ key: v.id, value: json(l) })),
        r.at,
      );
      await send(
        ledger,
        r.ledger,
        [{ key: ledgered.dlq_id, value: json(T.ledgerEntry(ledgered.dlq_id)) }],
        r.at,
      );
      const hist = id('hist');
      await send(
        t.attempts.name,
        r.attempts,
        [{ key: good[1]!.id, value: json(T.attemptRecord(good[1]!.id, hist)) }],
        r.at,
      );
      await send(t.operational.name, r.operational, [{ key: v.id, value: json(T.notice(v)) }], r.at);
      // Subscriptions: a new webhook after the bad documents, and the previous run's one deleted.
      const n = fresh[i]!;
      const subsGood: HostileRecord[] = [{ key: n.id, value: json(sealWebhook(box, n)) }];
      if (i > 0) subsGood.push({ key: fresh[i - 1]!.id, value: null });
      await send(t.subscriptions.name, r.subscriptions, subsGood, r.at);
      const created = await api('POST', '/v1/webhooks', {
        name: `hostile ${i}`,
        url: `${receiver.url}/ok/api${i}`,
        events: ['activity.delivered'],
        domain_id: `${env.prefix}api`,
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);

      await check(i, { n, hist, v, ledgered: ledgered.batch.event_ids[0]!, created: created.body.data.id });
    }),
    { numRuns: RUNS, endOnFailure: true, seed: Number(process.env.HOSTILE_SEED ?? Date.now() % 2 ** 31) },
  );

  async function check(
    i: number,
    c: { n: Webhook; hist: string; v: Webhook; ledgered: string; created: string },
  ) {
    const alive = () => allAlive(procs);
    const long = { timeoutMs: 90_000 };
    stamp(`run ${i} produced`);
    // Every bad record of a work topic: a poison dead letter with its exact bytes and a reason.
    await waitFor(() => alive() && poisonCovered(tail, poisonExpected), {
      ...long,
      what: `run ${i}: poison dead letters`,
    });
    stamp(`run ${i} poison dead letters`);
    // The good letter suspended its webhook; resend (resume) replays it once and skips the ledgered one.
    await waitFor(
      async () => (await api('GET', `/v1/webhooks/${c.v.id}`)).body?.data?.status === 'suspended',
      {
        ...long,
        what: `run ${i}: victim suspended`,
      },
    );
    const resend = await api('POST', `/v1/webhooks/${c.v.id}/resend`, { resume: true });
    expect(resend.status, JSON.stringify(resend.body)).toBe(200);
    expect({
      replayed: resend.body.data.replayed,
      ledgered: resend.body.data.skipped.already_replayed,
    }).toEqual({
      replayed: 1,
      ledgered: 1,
    });
    stamp(`run ${i} resend`);
    // The new webhook gets events once fan-out's table has it (probe until one arrives).
    const probeDomain = c.n.domain_id;
    const probes = eventGenerator({
      domains: 1,
      seed: 100 + i,
      domainId: () => probeDomain,
      mix: { 'activity.delivered': 1 },
    });
    let last = 0;
    await waitFor(
      async () => {
        alive();
        if ((receivedIds(receiver.requests).get(`/ok/n${i}`)?.size ?? 0) > 0) return true;
        if (Date.now() - last > 500) {
          last = Date.now();
          await mta.send([probes()]);
        }
        return false;
      },
      { ...long, what: `run ${i}: new webhook receives events` },
    );
    // Every good event reached the receiver; nothing a bad record carried did.
    await waitFor(
      () => {
        alive();
        const got = receivedIds(receiver.requests);
        const missing = [...expected].flatMap(([p, ids]) =>
          [...ids].filter((x) => !got.get(p)?.has(x)).map((x) => `${p} ${x}`),
        );
        if (missing.length > 0)
          throw new Error(`${missing.length} good events not received, e.g. ${missing[0]}`);
        return true;
      },
      { ...long, what: `run ${i}: good events received` },
    );
    const got = receivedIds(receiver.requests);
    expect(got.get('/ok/trap') ?? new Set()).toEqual(new Set());
    expect(got.get(`/ok/v${i}`)?.has(c.ledgered) ?? false).toBe(false);
    // History: the good attempt is served, no bad one is; the API's writes are answered and applied.
    await waitFor(
      async () => {
        const h = await api('GET', `/v1/webhooks/${good[1]!.id}/attempts?limit=100`);
        return h.status === 200 && h.body.data.some((a: { batch_id: string }) => a.batch_id === c.hist);
      },
      { ...long, what: `run ${i}: good attempt in history` },
    );
    expect((await api('GET', `/v1/webhooks/${c.created}`)).status).toBe(200);
    if (i > 0)
      await waitFor(async () => (await api('GET', `/v1/webhooks/${fresh[i - 1]!.id}`)).status === 404, {
        ...long,
        what: `run ${i}: tombstoned webhook gone`,
      });
    stamp(`run ${i} good records`);
    await lagsAreZero({ env, tail, tiers: TIERS }, i);
    await skipsCounted({ env, procs, counts, tiers: TIERS }, i);
    stamp(`run ${i} lag 0, skips counted`);
    // Only now has the API read every bad attempt and subscription record (the good ones awaited above
    // may sit in other partitions): none of them was taken as the trap's history or a good webhook's.
    expect((await api('GET', `/v1/webhooks/${trap.id}/attempts?limit=100`)).body.data).toEqual([]);
    for (const w of good) expect((await api('GET', `/v1/webhooks/${w.id}`)).body.data.status).toBe('active');
  }

  for (const [name, p] of procs) {
    const res = await fetch(`http://127.0.0.1:${p.port()}/readyz`);
    expect(`${name} ${res.status}`).toBe(`${name} 200`);
  }
  console.info(`hostile records per topic: ${JSON.stringify(counts)}`);
}, 240_000);
