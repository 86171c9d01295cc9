import {
  type BatchRecord,
  DEAD_LETTER_HEADERS,
  type DeadLetter,
  parseAttemptRecord,
  parseDeadLetter,
  parseOperationalNotice,
  parseRetryRecord,
  type RetryRecord,
  WEBHOOK_VERSION_HEADER,
  type Webhook,
  webhookVersionOf,
} from '@hookpost/contracts';
import { HEADERS, type RecordContext, topicCatalog } from '@hookpost/kafka';
import { createLogger } from '@hookpost/logger';
import { createRegistry } from '@hookpost/metrics';
import type { SendOutcome } from '@hookpost/sender';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TopicMessages } from './adapters/outbox.ts';
import { CIRCUIT_OPEN, Deliverer, type DelivererOptions, type Send } from './deliverer.ts';
import { CircuitBreakers } from './domain/breaker.ts';
import { KeyedLimiter } from './domain/limiter.ts';
import { suspendedNotice } from './domain/records.ts';
import { DeliveryMetrics } from './metrics.ts';

const tiers = [
  { name: '10s', delayMs: 10_000 },
  { name: '100s', delayMs: 100_000 },
];
const catalog = topicCatalog({ prefix: 'p.', retryTiers: tiers.map((t) => t.name) });
const webhook = {
  id: 'wh1',
  url: 'https://example.com/hook',
  status: 'active',
  enabled: true,
  secrets: [],
} as unknown as Webhook;
const batch: BatchRecord = {
  batch_id: 'b1',
  webhook_id: 'wh1',
  format: 'json',
  body: '[]',
  event_ids: ['e1', 'e2'],
  first_enqueued_at: 1,
  oldest_event_at: 1,
  created_at: 1,
};
const result = (r: Partial<SendOutcome>): SendOutcome => ({
  kind: 'delivered',
  status: 200,
  latencyMs: 5,
  error: null,
  retryAfterMs: null,
  responseExcerpt: 'ok',
  ...r,
});

function setup(
  send: Send,
  hooks: Record<string, Webhook> = { wh1: webhook },
  publish?: (items: TopicMessages[]) => Promise<void>,
  limiter = new KeyedLimiter(2),
  metrics = new DeliveryMetrics(createRegistry()),
  /** Options past the defaults here (a table of its own, version waits). */
  extra: Partial<DelivererOptions> = {},
) {
  const published: TopicMessages[][] = [];
  const d = new Deliverer({
    catalog,
    tiers,
    jitter: 0,
    lookup: (id) => hooks[id],
    send,
    limiter,
    breakers: new CircuitBreakers({ failures: 2, cooldownMs: 60_000, now: () => 1_000 }),
    publish:
      publish ??
      (async (items) => {
        published.push(items);
      }),
    metrics,
    logger: createLogger({ name: 't', level: 'silent' }),
    now: () => 1_000,
    random: () => 0,
    produceRetryMs: 1,
    ...extra,
  });
  return { d, published };
}

const ctx = (value: unknown, topic = catalog.topics.batches.name): RecordContext => ({
  topic,
  partition: 0,
  message: {
    key: Buffer.from('wh1'),
    value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    offset: '7',
    timestamp: '0',
    headers: {},
  },
  dueAt: null,
});
const parse = <T>(m: TopicMessages) => JSON.parse(String(m.messages[0]!.value)) as T;

describe('Deliverer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('an open circuit skips the request: the batch goes to the first tier as a failed attempt circuit_open', async () => {
    let sent = 0;
    const { d, published } = setup(async () => {
      sent++;
      return result({ kind: 'retry', status: null, error: 'timeout' });
    });
    // The threshold (2) opens it; the third batch is refused without a request.
    for (let i = 0; i < 3; i++) await d.handleBatch(ctx({ ...batch, batch_id: `b${i}` }));
    expect(sent).toBe(2);
    const [attempt, retry] = published[2]!;
    expect(parse(attempt!)).toMatchObject({ batch_id: 'b2', outcome: 'retry', error: CIRCUIT_OPEN });
    expect(retry!.topic).toBe(catalog.retryTopic('10s'));
    expect(parse<RetryRecord>(retry!).history.at(-1)).toMatchObject({ error: CIRCUIT_OPEN, status: null });
    // Another webhook on the same origin is not affected.
    const other = { ...webhook, id: 'wh2' } as Webhook;
    const o = setup(async () => result({}), { wh2: other });
    await o.d.handleBatch(ctx({ ...batch, webhook_id: 'wh2' }));
    expect(parse(o.published[0]![0]!)).toMatchObject({ outcome: 'delivered' });
  });

  it('a webhook that failed and has a request past the slow threshold: its other batches are refused as circuit_open', async () => {
    vi.useFakeTimers();
    let sent = 0;
    let hang: ((r: SendOutcome) => void) | undefined;
    const { d, published } = setup(
      () => {
        sent++;
        if (sent === 1) return Promise.resolve(result({ kind: 'retry', status: 500, error: 'HTTP 500' }));
        return new Promise<SendOutcome>((resolve) => {
          hang = resolve;
        });
      },
      undefined,
      undefined,
      new KeyedLimiter(2, { slow: { floorMs: 250, factor: 4 } }),
    );
    await d.handleBatch(ctx({ ...batch, batch_id: 'b0' }));
    const hanging = d.handleBatch(ctx({ ...batch, batch_id: 'b1' }));
    // b1 hangs; not slow yet at 100 ms, slow at 250 ms.
    await vi.advanceTimersByTimeAsync(100);
    expect(sent).toBe(2);
    await vi.advanceTimersByTimeAsync(150);
    await d.handleBatch(ctx({ ...batch, batch_id: 'b2' }));
    expect(sent).toBe(2);
    expect(parse(published.at(-1)![0]!)).toMatchObject({ batch_id: 'b2', error: CIRCUIT_OPEN });
    hang!(result({ kind: 'retry', status: null, error: 'timeout' }));
    await hanging;
  });

  it('a delivered batch produces only its attempt record', async () => {
    const { d, published } = setup(async () => result({}));
    await d.handleBatch(ctx(batch));
    expect(published).toHaveLength(1);
    expect(published[0]!.map((t) => t.topic)).toEqual([catalog.topics.attempts.name]);
    expect(parse(published[0]![0]!)).toMatchObject({
      batch_id: 'b1',
      attempt: 1,
      outcome: 'delivered',
      event_count: 2,
    });
  });

  it("records the batch's wait from its close to its first attempt, and its oldest event's age when delivered", async () => {
    const registry = createRegistry();
    const metrics = new DeliveryMetrics(registry);
    const { d } = setup(async () => result({ latencyMs: 250 }), undefined, undefined, undefined, metrics);
    // now() is 1 000: closed at 400 (0.6 s before), oldest event at 100 (0.9 s + the 0.25 s request).
    await d.handleBatch(ctx({ ...batch, created_at: 400, oldest_event_at: 100 }));
    const text = await registry.metrics();
    expect(text).toMatch(/webhooks_delivery_batch_wait_seconds_sum 0\.6\b/);
    expect(text).toMatch(/webhooks_delivery_batch_wait_seconds_count 1\b/);
    expect(text).toMatch(/webhooks_delivery_event_age_seconds_sum\{tier="main"\} 1\.15\b/);
    // A failed attempt has a wait but no age: nothing was delivered.
    const m2 = new DeliveryMetrics(createRegistry());
    const failing = setup(
      async () => result({ kind: 'retry', status: 500 }),
      undefined,
      undefined,
      undefined,
      m2,
    );
    await failing.d.handleBatch(ctx(batch));
    expect((await m2.eventAge.get()).values.filter((v) => v.metricName?.endsWith('_count'))).toEqual([]);
    expect((await m2.batchWait.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value).toBe(1);
  });

  it('a failure goes to the first tier with its due time in a header, in the same send as the attempt', async () => {
    const { d, published } = setup(async () => result({ kind: 'retry', status: 500, error: 'HTTP 500' }));
    await d.handleBatch(ctx(batch));
    const [attempt, retry] = published[0]!;
    expect(attempt!.topic).toBe(catalog.topics.attempts.name);
    expect(retry!.topic).toBe(catalog.retryTopic('10s'));
    const r = parse<RetryRecord>(retry!);
    expect(r).toMatchObject({
      attempt: 1,
      tier: '10s',
      due_at: 11_000,
      first_failed_at: 1_000,
      last_error: 'HTTP 500',
    });
    expect(retry!.messages[0]!.headers).toMatchObject({ [HEADERS.dueAt]: '11000', [HEADERS.attempt]: '1' });
  });

  it('after the last tier the batch is dead-lettered with every attempt', async () => {
    const { d, published } = setup(async () => result({ kind: 'retry', status: 503, error: 'HTTP 503' }));
    const prior: RetryRecord = {
      batch,
      attempt: 2,
      tier: '100s',
      due_at: 900,
      first_failed_at: 10,
      last_error: 'x',
      history: [
        { attempt: 1, tier: 'main', at: 10, status: 500, latency_ms: 1, error: 'HTTP 500' },
        { attempt: 2, tier: '10s', at: 20, status: 500, latency_ms: 1, error: 'HTTP 500' },
      ],
    };
    await d.handleRetry('100s')(ctx(prior, catalog.retryTopic('100s')));
    const dead = published[0]!.find((t) => t.topic === catalog.topics.dlq.name)!;
    const letter = parse<DeadLetter>(dead);
    expect(letter.reason).toBe('exhausted');
    expect(letter.attempts.map((a) => [a.attempt, a.tier, a.status])).toEqual([
      [1, 'main', 500],
      [2, '10s', 500],
      [3, '100s', 503],
    ]);
    expect(dead.messages[0]!.headers).toMatchObject({ [DEAD_LETTER_HEADERS.reason]: 'exhausted' });
  });

  it('poison keeps its exact bytes; unknown and suspended webhooks are dead-lettered without a request', async () => {
    let sent = 0;
    const { d, published } = setup(
      async () => {
        sent += 1;
        return result({});
      },
      { wh2: { ...webhook, id: 'wh2', status: 'suspended' } as Webhook },
    );
    await d.handleBatch(ctx('{not json'));
    await d.handleBatch(ctx(batch));
    await d.handleBatch(ctx({ ...batch, webhook_id: 'wh2' }));
    const letters = published.map((p) =>
      parse<DeadLetter>(p.find((t) => t.topic === catalog.topics.dlq.name)!),
    );
    expect(letters.map((l) => l.reason)).toEqual(['poison', 'deleted', 'suspended']);
    expect(Buffer.from(letters[0]!.source!.value_b64!, 'base64').toString()).toBe('{not json');
    expect(sent).toBe(0);
  });

  it('a webhook the table learns of only on catching up is delivered; one still unknown after it is dead-lettered as deleted', async () => {
    // The batcher's (or fan-out's) table read the creation of wh1 before this one: a table behind.
    const hooks: Record<string, Webhook> = {};
    const settled: string[] = [];
    let sent = 0;
    const { d, published } = setup(
      async () => {
        sent += 1;
        return result({});
      },
      hooks,
      undefined,
      undefined,
      undefined,
      {
        settle: async (id) => {
          settled.push(id);
          if (id === 'wh1') hooks.wh1 = webhook;
          return true;
        },
      },
    );
    await d.handleBatch(ctx(batch));
    await d.handleBatch(ctx({ ...batch, batch_id: 'b2', webhook_id: 'gone' }));
    expect(settled).toEqual(['wh1', 'gone']);
    expect(sent).toBe(1);
    expect(parse(published[0]![0]!)).toMatchObject({ batch_id: 'b1', outcome: 'delivered' });
    const letter = parse<DeadLetter>(published[1]!.find((t) => t.topic === catalog.topics.dlq.name)!);
    expect(letter).toMatchObject({ reason: 'deleted', webhook_id: 'gone' });
    // A webhook the table holds never waits for a catch-up.
    await d.handleBatch(ctx({ ...batch, batch_id: 'b3' }));
    expect(settled).toEqual(['wh1', 'gone']);
  });

  it('a sender that throws counts as a retryable failure, and a failed produce is retried', async () => {
    let calls = 0;
    const published: TopicMessages[][] = [];
    const { d } = setup(
      async () => {
        throw new Error('boom');
      },
      undefined,
      async (items) => {
        calls += 1;
        if (calls === 1) throw new Error('broker down');
        published.push(items);
      },
    );
    await d.handleBatch(ctx(batch));
    expect(calls).toBe(2);
    expect(parse<RetryRecord>(published[0]![1]!).last_error).toContain('boom');
  });

  it('everything it writes validates against the shared schemas: attempts, retries, dead letters, notices', async () => {
    const kind = fc.constantFrom('delivered' as const, 'retry' as const, 'gone' as const, 'refused' as const);
    const outcome = fc.record({
      kind,
      status: fc.option(fc.integer({ min: 100, max: 599 }), { nil: null }),
      error: fc.option(fc.string({ maxLength: 20 }), { nil: null }),
      retryAfterMs: fc.option(fc.nat({ max: 500_000 }), { nil: null }),
      responseExcerpt: fc.option(fc.string({ maxLength: 700 }), { nil: null }),
    });
    const parsers: Record<string, (b: Buffer) => { ok: boolean }> = {
      [catalog.topics.attempts.name]: parseAttemptRecord,
      [catalog.topics.dlq.name]: parseDeadLetter,
      [catalog.retryTopic('10s')]: parseRetryRecord,
      [catalog.retryTopic('100s')]: parseRetryRecord,
    };
    await fc.assert(
      fc.asyncProperty(
        outcome,
        fc.constantFrom('main', '10s', '100s'),
        fc.constantFrom('wh1', 'wh2', 'gone'),
        fc.option(fc.uint8Array({ maxLength: 30 }), { nil: null }),
        async (r, from, target, junk) => {
          const hooks = { wh1: webhook, wh2: { ...webhook, id: 'wh2', status: 'suspended' } as Webhook };
          const { d, published } = setup(async () => result(r), hooks);
          const b = { ...batch, webhook_id: target };
          const prior: RetryRecord = { ...retryOf(b), tier: from };
          if (junk) await d.handleBatch(ctx(Buffer.from(junk).toString('latin1')));
          else if (from === 'main') await d.handleBatch(ctx(b));
          else await d.handleRetry(from)(ctx(prior, catalog.retryTopic(from)));
          expect(published.flat().length).toBeGreaterThan(0);
          for (const item of published.flat())
            for (const m of item.messages) {
              expect(parsers[item.topic]!(Buffer.from(String(m.value)))).toMatchObject({ ok: true });
              if (item.topic === catalog.topics.dlq.name)
                expect(m.headers).toMatchObject({
                  [DEAD_LETTER_HEADERS.sourceTopic]:
                    junk || from === 'main' ? catalog.topics.batches.name : catalog.retryTopic(from),
                  [DEAD_LETTER_HEADERS.sourcePartition]: '0',
                  [DEAD_LETTER_HEADERS.sourceOffset]: '7',
                });
            }
        },
      ),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.string(), fc.dictionary(fc.string(), fc.nat()), fc.nat(), (reason, counts, now) => {
        const notice = suspendedNotice({ id: 'wh1', account_id: 'a', domain_id: 'd' }, reason, counts, now);
        expect(parseOperationalNotice(Buffer.from(JSON.stringify(notice)))).toMatchObject({ ok: true });
      }),
    );
  });
});

function retryOf(b: BatchRecord): RetryRecord {
  return {
    batch: b,
    attempt: 1,
    tier: '10s',
    due_at: 900,
    first_failed_at: 10,
    last_error: 'HTTP 500',
    history: [{ attempt: 1, tier: 'main', at: 10, status: 500, latency_ms: 1, error: 'HTTP 500' }],
  };
}

describe('Deliverer: a record produced under a newer webhook version than the table holds', () => {
  const suspendedV3 = { ...webhook, status: 'suspended', version: 3 } as Webhook;
  const activeV4 = { ...webhook, status: 'active', version: 4 } as Webhook;
  const withVersion = (c: RecordContext, version: Buffer | string | undefined): RecordContext => ({
    ...c,
    message: { ...c.message, headers: version === undefined ? {} : { [WEBHOOK_VERSION_HEADER]: version } },
  });

  /** A deliverer over a mutable table, whose version waits the test settles by hand. */
  function withTable(initial: Webhook | undefined) {
    const table: { wh1: Webhook | undefined } = { wh1: initial };
    const waits: { id: string; version: number; timeoutMs: number; settle: (reached: boolean) => void }[] =
      [];
    const metrics = new DeliveryMetrics(createRegistry());
    let sent = 0;
    const send: Send = async () => {
      sent += 1;
      return result({});
    };
    const { d, published } = setup(send, {}, undefined, undefined, metrics, {
      lookup: (id) => (id === 'wh1' ? table.wh1 : undefined),
      awaitVersion: (id, version, timeoutMs, signal) =>
        new Promise<boolean>((resolve, reject) => {
          waits.push({ id, version, timeoutMs, settle: resolve });
          signal.addEventListener('abort', () =>
            reject(Object.assign(new Error('stop'), { name: 'AbortError' })),
          );
        }),
      versionWaitMs: 50,
    });
    const waitsBy = async (result: string) =>
      (await metrics.versionWaits.get()).values.find((v) => v.labels.result === result)?.value;
    const letter = () =>
      parse<DeadLetter>(published.at(-1)!.find((t) => t.topic === catalog.topics.dlq.name)!);
    return { d, table, waits, published, metrics, sent: () => sent, waitsBy, letter };
  }

  /** Resolves once the deliverer has asked for a version wait (its lookups and pacing are microtasks). */
  async function asked(t: ReturnType<typeof withTable>) {
    await vi.waitFor(() => expect(t.waits).toHaveLength(1));
    return t.waits[0]!;
  }

  it('a replayed batch waits for the table to read the resume, then is delivered (main and retry tiers alike)', async () => {
    for (const handle of ['main', '10s'] as const) {
      const t = withTable(suspendedV3);
      const record =
        handle === 'main'
          ? t.d.handleBatch(withVersion(ctx(batch), '4'))
          : t.d.handleRetry('10s')(
              withVersion(ctx(retryOf(batch), catalog.retryTopic('10s')), Buffer.from('4')),
            );
      const wait = await asked(t);
      expect(wait).toMatchObject({ id: 'wh1', version: 4, timeoutMs: 50 });
      expect(await t.metrics.versionWaiting.get()).toMatchObject({ values: [{ value: 1 }] });
      t.table.wh1 = activeV4;
      wait.settle(true);
      await record;
      expect(t.sent()).toBe(1);
      expect(parse(t.published[0]![0]!)).toMatchObject({ outcome: 'delivered' });
      expect(await t.waitsBy('caught_up')).toBe(1);
      expect(await t.metrics.versionWaiting.get()).toMatchObject({ values: [{ value: 0 }] });
    }
  });

  it('without a usable header, or with a version the table already holds, a suspended webhook is dead-lettered at once', async () => {
    for (const header of [undefined, '', 'x', '4.0', '-4', '3', '2']) {
      const t = withTable(suspendedV3);
      await t.d.handleBatch(withVersion(ctx(batch), header));
      expect(t.waits, String(header)).toHaveLength(0);
      expect(t.letter()).toMatchObject({ reason: 'suspended', error: 'webhook suspended' });
      expect(t.sent()).toBe(0);
    }
    // A disabled webhook likewise; an active one never looks at the header.
    const disabled = withTable({ ...webhook, enabled: false, version: 3 } as Webhook);
    await disabled.d.handleBatch(ctx(batch));
    expect(disabled.letter()).toMatchObject({ reason: 'suspended', error: 'webhook disabled' });
    const active = withTable(activeV4);
    await active.d.handleBatch(withVersion(ctx(batch), '9'));
    expect(active.waits).toHaveLength(0);
    expect(active.sent()).toBe(1);
  });

  it('when the table does not catch up in time, the batch is dead-lettered as suspended, saying the table was behind', async () => {
    const t = withTable(suspendedV3);
    const record = t.d.handleBatch(withVersion(ctx(batch), '4'));
    (await asked(t)).settle(false);
    await record;
    expect(t.sent()).toBe(0);
    const letter = t.letter();
    expect(letter.reason).toBe('suspended');
    expect(letter.error).toBe(
      "webhook suspended at version 3 in this delivery's subscription table; the record was produced under version 4 and the table had not caught up within 50 ms",
    );
    expect(letter.batch?.batch_id).toBe('b1');
    expect(await t.waitsBy('timeout')).toBe(1);
    expect(await t.waitsBy('caught_up')).toBe(0);
  });

  it('judged again once caught up: suspended again or deleted meanwhile is dead-lettered as such', async () => {
    const again = withTable(suspendedV3);
    const r1 = again.d.handleBatch(withVersion(ctx(batch), '4'));
    const w1 = await asked(again);
    again.table.wh1 = { ...suspendedV3, version: 5 } as Webhook;
    w1.settle(true);
    await r1;
    expect(again.letter()).toMatchObject({ reason: 'suspended', error: 'webhook suspended' });
    const gone = withTable(suspendedV3);
    const r2 = gone.d.handleBatch(withVersion(ctx(batch), '4'));
    const w2 = await asked(gone);
    gone.table.wh1 = undefined;
    w2.settle(true);
    await r2;
    expect(gone.letter()).toMatchObject({ reason: 'deleted' });
    expect(again.sent() + gone.sent()).toBe(0);
  });

  it('shutdown ends the wait with an AbortError and publishes nothing (the record stays uncommitted)', async () => {
    const t = withTable(suspendedV3);
    const record = t.d.handleBatch(withVersion(ctx(batch), '4'));
    await asked(t);
    t.d.stopWaiting();
    await expect(record).rejects.toMatchObject({ name: 'AbortError' });
    expect(t.published).toHaveLength(0);
    expect(await t.metrics.versionWaiting.get()).toMatchObject({ values: [{ value: 0 }] });
  });

  it('a retry record carries the webhook version its attempt was made under', async () => {
    const { d, published } = setup(async () => result({ kind: 'retry', status: 500, error: 'HTTP 500' }), {
      wh1: { ...webhook, version: 6 } as Webhook,
    });
    await d.handleBatch(ctx(batch));
    const retry = published[0]!.find((m) => m.topic === catalog.retryTopic('10s'))!;
    expect(webhookVersionOf(retry.messages[0]!.headers)).toBe(6);
  });
});
