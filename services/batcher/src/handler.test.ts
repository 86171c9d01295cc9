import {
  type BatchRecord,
  deadLetterHeaders,
  parseBatchRecord,
  parseDeadLetter,
  WEBHOOK_VERSION_HEADER,
  type Webhook,
  webhookVersionHeader,
} from '@hookpost/contracts';
import type { KafkaRecord, OutputRecord, PartitionControl, PartitionTx } from '@hookpost/kafka';
import { createLogger } from '@hookpost/logger';
import { createRegistry } from '@hookpost/metrics';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batcherHandler, type Clock, COMMIT_DELAY_MS, COMMIT_LINGER_MS } from './handler.ts';
import { batcherMetrics } from './metrics.ts';
import { decoded, dispatchMessage, eventDispatchMessage, onTheWire } from './test-fixtures.ts';

/** A clock whose timers run only when the test advances time. */
function manualClock() {
  let now = 0;
  const timers: { at: number; fn: () => void }[] = [];
  const clock: Clock = {
    now: () => now,
    schedule: (fn, ms) => {
      const t = { at: now + ms, fn };
      timers.push(t);
      return () => timers.splice(timers.indexOf(t), 1);
    },
  };
  const advance = (ms: number) => {
    now += ms;
    for (const t of [...timers].filter((x) => x.at <= now)) {
      timers.splice(timers.indexOf(t), 1);
      t.fn();
    }
  };
  return { clock, advance };
}

const message = (offset: number, webhook: string) => dispatchMessage(offset, webhook);

function handlerDeps(webhooks: Record<string, Partial<Webhook>>, clock: Clock) {
  return {
    webhook: (id: string) =>
      webhooks[id]
        ? ({ id, format: 'json', batch: { max_events: 500, window_ms: 30_000 }, ...webhooks[id] } as Webhook)
        : undefined,
    topics: { batches: 'batches', dlq: 'dlq', watermarks: 'marks' },
    readWatermarks: async () => {},
    windowMs: 30_000,
    maxBytes: 1 << 20,
    maxBufferedBytes: 1000,
    clock,
    metrics: batcherMetrics(createRegistry()),
    logger: createLogger({ name: 't', level: 'silent' }),
  };
}

function setup(
  webhooks: Record<string, Partial<Webhook>>,
  overrides: Partial<Parameters<typeof batcherHandler>[0]> = {},
) {
  const { clock, advance } = manualClock();
  const sent: OutputRecord[] = [];
  /** [time, committed offset] of every commit. */
  const commits: [number, string][] = [];
  let position = 0;
  const tx: PartitionTx = { send: async (r) => void sent.push(...r.map(onTheWire)) };
  const control: PartitionControl = {
    topic: 'dispatch',
    partition: 0,
    // What PartitionWorker does: the handler's work, its pre-commit records and offset, the commit.
    commit: async (fn) => {
      await fn(tx);
      commits.push([clock.now(), (await handler.prepareCommit!(tx, String(position)))!]);
      handler.committed!();
    },
  };
  const handler = batcherHandler({ ...handlerDeps(webhooks, clock), ...overrides })(control);
  const feed = async (messages: KafkaRecord[]) => {
    const decision = await handler.onMessages(messages, tx, async () => {});
    position = Number(messages.at(-1)!.offset) + 1;
    return decision;
  };
  const settle = () => new Promise((r) => setImmediate(r));
  const ids = (topic: string) =>
    sent.filter((r) => r.topic === topic).map((r) => [r.key, decoded(r.value).event_ids]);
  return { handler, tx, sent, commits, advance, feed, settle, ids };
}

describe('batcher handler', () => {
  it("closes each batch at its own webhook's window and commits behind the batches still open", async () => {
    const s = setup({ a: { batch: { max_events: 500, window_ms: 1000 } }, b: {} });
    expect(await s.feed([message(0, 'b'), message(1, 'a'), message(2, 'a')])).toBe('hold');
    expect(s.sent).toEqual([]);
    s.advance(999);
    expect(s.commits).toEqual([]);
    s.advance(1);
    await s.settle();
    expect(s.ids('batches')).toEqual([['a', ['e1', 'e2']]]);
    // b's batch (first record at offset 0) is still open: the commit stays at its first record, and
    // a's watermark (its last record left at offset 2) goes in the same transaction.
    expect(s.commits).toEqual([[1000, '0']]);
    expect(s.sent.filter((r) => r.topic === 'marks')).toEqual([
      { topic: 'marks', partition: 0, key: '0/a', value: '2' },
    ]);
    s.advance(29_000);
    await s.settle();
    expect(s.ids('batches').at(-1)).toEqual(['b', ['e0']]);
    expect(s.commits.at(-1)).toEqual([30_000, '3']);
    // Nothing is held any more: the watermark cannot matter again and is tombstoned.
    expect(s.sent.at(-1)).toEqual({ topic: 'marks', partition: 0, key: '0/a', value: null });
  });

  it("carries a replay's webhook version onto its batch: the highest of its records', none when none had one", async () => {
    const s = setup({
      a: { batch: { max_events: 3, window_ms: 1000 } },
      b: { batch: { max_events: 2, window_ms: 30_000 } },
    });
    const versioned = (m: KafkaRecord, headers: Record<string, string | Buffer>) => ({ ...m, headers });
    await s.feed([
      // A replay that followed a resume: each record says which version its replayer saw.
      versioned(message(0, 'a'), webhookVersionHeader(7)),
      versioned(message(1, 'a'), webhookVersionHeader(9)),
      versioned(message(2, 'a'), { [WEBHOOK_VERSION_HEADER]: Buffer.from('8') }),
      // The fan-out's own records carry none; a header that is not one positive integer counts as none.
      message(3, 'b'),
      versioned(eventDispatchMessage(4, ['b']), { [WEBHOOK_VERSION_HEADER]: '1e3' }),
      versioned(eventDispatchMessage(5, ['a']), webhookVersionHeader(3)),
    ]);
    const batches = s.sent.filter((r) => r.topic === 'batches');
    expect(batches.map((r) => [r.key, decoded(r.value).event_ids, r.headers])).toEqual([
      ['a', ['e0', 'e1', 'e2'], webhookVersionHeader(9)],
      ['b', ['e3', 'e4'], undefined],
    ]);
    // The next batch of a starts afresh: its own record's version, not the last batch's.
    s.advance(1000);
    await s.settle();
    expect(s.sent.filter((r) => r.topic === 'batches').at(-1)).toMatchObject({
      key: 'a',
      headers: webhookVersionHeader(3),
    });
  });

  it(`produces a full batch at once and commits it within ${COMMIT_LINGER_MS} ms after a quiet spell, then commits at most every ${COMMIT_DELAY_MS} ms, whatever the service window`, async () => {
    const s = setup({ a: { batch: { max_events: 2, window_ms: 30_000 } } });
    await s.feed([message(0, 'a'), message(1, 'a'), message(2, 'a')]);
    expect(s.ids('batches')).toEqual([['a', ['e0', 'e1']]]);
    s.advance(COMMIT_LINGER_MS - 1);
    await s.settle();
    expect(s.commits).toEqual([]);
    s.advance(1);
    await s.settle();
    expect(s.commits).toEqual([[COMMIT_LINGER_MS, '2']]);
    // The next full batch, right after: its commit waits for the delay since the last one, not the linger.
    await s.feed([message(3, 'a')]);
    s.advance(COMMIT_DELAY_MS - 1);
    await s.settle();
    expect(s.commits).toHaveLength(1);
    s.advance(1);
    await s.settle();
    expect(s.commits).toEqual([
      [COMMIT_LINGER_MS, '2'],
      [COMMIT_LINGER_MS + COMMIT_DELAY_MS, '4'],
    ]);
    // A quiet spell past the delay: the linger again.
    s.advance(5 * COMMIT_DELAY_MS);
    await s.feed([message(4, 'a'), message(5, 'a')]);
    s.advance(COMMIT_LINGER_MS);
    await s.settle();
    expect(s.commits.at(-1)).toEqual([6 * COMMIT_DELAY_MS + 2 * COMMIT_LINGER_MS, '6']);
  });

  it('sends closed batches in few bounded sends, in offset order: one per 1 000 batches or ~256 KiB, not one per batch', async () => {
    const s = setup({ a: { batch: { max_events: 1, window_ms: 30_000 } } });
    const sends: OutputRecord[][] = [];
    const counting: PartitionTx = { send: async (r) => void sends.push(r.map(onTheWire)) };
    // At the threshold, just past it and far past it, with small and ~20 KiB batches.
    for (const [count, pad] of [
      [1000, 0],
      [1001, 0],
      [5000, 0],
      [500, 20_000],
    ] as const) {
      sends.length = 0;
      const messages = Array.from({ length: count }, (_, i) => {
        const m = message(i, 'a');
        if (pad === 0) return m;
        const value = JSON.parse(String(m.value));
        value.payload = { o: i, pad: 'x'.repeat(pad) };
        return { ...m, value: Buffer.from(JSON.stringify(value)) } as KafkaRecord;
      });
      await s.handler.onMessages(messages, counting, async () => {});
      const batches = sends.flat().filter((r) => r.topic === 'batches');
      expect(batches.map((r) => decoded(r.value).event_ids[0])).toEqual(messages.map((_, i) => `e${i}`));
      const bytes = sends.map((chunk) => chunk.reduce((n, r) => n + String(r.value).length, 0));
      // Each send holds at most the threshold plus the one batch that crossed it.
      for (const b of bytes) expect(b).toBeLessThan(256 * 1024 + pad + 2000);
      const expected = pad === 0 ? Math.ceil(count / 1000) : Math.ceil((count * pad) / (256 * 1024));
      expect(sends.length).toBeGreaterThanOrEqual(expected);
      expect(sends.length).toBeLessThanOrEqual(expected + 1);
      s.handler.reset();
    }
  });

  it("renders each listed webhook's payload from the per-event record: its envelope around the shared data, byte for byte", async () => {
    const s = setup({
      a: { url: 'https://a.example/in', batch: { max_events: 1, window_ms: 30_000 } },
      b: { format: 'jsonl', batch: { max_events: 2, window_ms: 30_000 } },
    });
    const record = {
      event_id: 'ev"1\u2028',
      type: 'activity.opened',
      domain_id: 'dom\\1',
      created_at: '2026-12-03T10:00:00.123000Z',
      event_created_at: 5,
      dispatched_at: 6,
      webhooks: [
        { id: 'a', url: 'https://a.example/in' },
        { id: 'b', url: 'https://b.example/"quoted"' },
      ],
      data: { object: 'activity', id: 'ev"1\u2028', nested: { list: [1, 'two', null], s: '\ud800' } },
    };
    const m = (offset: number, r: object) =>
      ({
        offset: String(offset),
        key: Buffer.from('dom'),
        value: Buffer.from(JSON.stringify(r)),
        headers: {},
      }) as unknown as KafkaRecord;
    await s.feed([m(0, record), m(1, { ...record, event_id: 'ev2' })]);
    const batches = s.sent.filter((r) => r.topic === 'batches').map((r) => decoded(r.value) as BatchRecord);
    // The envelope does not name the event (its data does): both records render the same payload.
    const payload = (w: { id: string; url: string }) =>
      JSON.stringify({
        type: record.type,
        domain_id: record.domain_id,
        created_at: record.created_at,
        webhook_id: w.id,
        url: w.url,
        data: record.data,
      });
    const [wa, wb] = record.webhooks as [{ id: string; url: string }, { id: string; url: string }];
    expect(batches.map((b) => [b.webhook_id, b.event_ids])).toEqual([
      ['a', [record.event_id]],
      ['a', ['ev2']],
      ['b', [record.event_id, 'ev2']],
    ]);
    expect(batches[0]!.body).toBe(`[${payload(wa)}]`);
    expect(batches[2]!.body).toBe(`${payload(wb)}\n${payload(wb)}\n`);
    // a's and b's first batches start at the same record: their ids still differ.
    expect(new Set(batches.map((b) => b.batch_id)).size).toBe(3);
  });

  it.each(['framed', 'json'] as const)(
    'dead-letters only the deleted webhooks of a per-event record (%s), each with its own payload, and takes a repeated webhook once',
    async (form) => {
      const s = setup({ a: { batch: { max_events: 1, window_ms: 30_000 } } });
      await s.feed([eventDispatchMessage(0, ['gone', 'a', 'a', 'gone2'], form)]);
      expect(s.ids('batches')).toEqual([['a', ['e0']]]);
      const letters = s.sent.filter((r) => r.topic === 'dlq').map((r) => decoded(r.value));
      expect(letters.map((l) => [l.reason, l.webhook_id, l.dispatch[0].payload.webhook_id])).toEqual([
        ['deleted', 'gone', 'gone'],
        ['deleted', 'gone2', 'gone2'],
      ]);
      expect(letters[0].dispatch[0]).toMatchObject({
        event_id: 'e0',
        payload: { url: 'https://example.com/gone', data: { o: 0 } },
      });
      expect(new Set(letters.map((l) => l.dlq_id)).size).toBe(2);
    },
  );

  it('dead-letters records of a deleted webhook and undecodable records', async () => {
    const s = setup({});
    const junk = { ...message(1, 'x'), value: Buffer.from('{oops') } as KafkaRecord;
    await s.feed([message(0, 'gone'), junk]);
    expect(s.sent.map((r) => [r.topic, decoded(r.value).reason])).toEqual([
      ['dlq', 'deleted'],
      ['dlq', 'poison'],
    ]);
  });

  it("batches a webhook its table learns of only on catching up (the fan-out's table read its creation first): one catch-up per fetch", async () => {
    // The table holds 'late' only once settle() has run: what a table behind the fan-out's looks like.
    const webhooks: Record<string, Partial<Webhook>> = {};
    const settled: string[] = [];
    const s = setup(webhooks, {
      webhook: (id) =>
        webhooks[id]
          ? ({ id, format: 'json', batch: { max_events: 500, window_ms: 1000 } } as Webhook)
          : undefined,
      settle: async (id) => {
        settled.push(id);
        webhooks.late = {};
        return true;
      },
    });
    // Thousands of records of the fetch, of the new webhook and of one that is really gone.
    const n = 3000;
    await s.feed(Array.from({ length: n }, (_, i) => message(i, i % 3 === 2 ? 'gone' : 'late')));
    expect(settled).toEqual(['late']);
    s.advance(1000);
    await s.settle();
    const batched = s.ids('batches').flatMap(([, ids]) => ids as string[]);
    expect(batched).toHaveLength(2000);
    expect(s.sent.filter((r) => r.topic === 'dlq')).toHaveLength(1000);
    expect(s.sent.filter((r) => r.topic === 'dlq').every((r) => decoded(r.value).reason === 'deleted')).toBe(
      true,
    );
    // The next fetch catches up again for a webhook still unknown, and never for one the table holds.
    await s.feed([message(n, 'gone'), message(n + 1, 'gone'), message(n + 2, 'late')]);
    expect(settled).toEqual(['late', 'gone']);
  });

  it('judges a webhook deleted after a catch-up that timed out, and never waits for one that left already', async () => {
    const settled: string[] = [];
    const s = setup(
      {},
      {
        settle: async (id) => {
          settled.push(id);
          return false;
        },
        // Before a crash, the record at offset 0 of 'left' went out (as a dead letter): skipped on replay.
        readWatermarks: async (_partition, onRecord) => {
          onRecord('0/left', '0');
        },
      },
    );
    await s.handler.init!(undefined);
    await s.feed([message(0, 'left'), message(1, 'gone'), message(2, 'gone')]);
    // Not caught up: each unknown webhook of the fetch asks again (the second may have caught up).
    expect(settled).toEqual(['gone', 'gone']);
    expect(s.sent.map((r) => [r.topic, decoded(r.value).reason, decoded(r.value).webhook_id])).toEqual([
      ['dlq', 'deleted', 'gone'],
      ['dlq', 'deleted', 'gone'],
    ]);
  });

  it('closes every open batch and commits when the open batches hold too many bytes', async () => {
    const s = setup({ a: {}, b: {} });
    const many = Array.from({ length: 200 }, (_, i) => message(i, i % 2 ? 'a' : 'b'));
    expect(await s.feed(many)).toBe('commit');
    expect(s.sent.flatMap((r) => decoded(r.value).event_ids)).toHaveLength(200);
  });

  it("the byte bound is the instance's: the partition whose fetch takes the total past it closes its own batches", async () => {
    const sent: OutputRecord[] = [];
    const tx: PartitionTx = { send: async (r) => void sent.push(...r.map(onTheWire)) };
    const factory = batcherHandler(handlerDeps({ a: {}, b: {} }, manualClock().clock));
    const control = (partition: number): PartitionControl => ({
      topic: 'dispatch',
      partition,
      commit: async (fn) => fn(tx),
    });
    const [p0, p1] = [factory(control(0)), factory(control(1))];
    // ~590 bytes each: either partition alone stays below the bound of 1000, both together pass it.
    const fetch = (webhook: string) => Array.from({ length: 60 }, (_, i) => message(i, webhook));
    expect(await p0.onMessages(fetch('a'), tx, async () => {})).toBe('hold');
    expect(sent).toEqual([]);
    expect(await p1.onMessages(fetch('b'), tx, async () => {})).toBe('commit');
    expect(sent.map((r) => [r.key, decoded(r.value).event_ids.length])).toEqual([['b', 60]]);
    // With partition 1's bytes given back, partition 0's next fetch stays below the bound again.
    expect(await p0.onMessages([message(60, 'a')], tx, async () => {})).toBe('hold');
  });

  it('past the byte bound it closes its largest batches first, down to 3/4 of the bound, and the rest still close at their window', async () => {
    const s = setup({ a: {}, b: {}, c: {} });
    // 8–10 bytes each with its comma: a 889, b 199, c 149 in one fetch, 1 237 against the bound of 1 000.
    const fetch = [
      ...Array.from({ length: 100 }, (_, i) => message(i, 'a')),
      ...Array.from({ length: 20 }, (_, i) => message(100 + i, 'b')),
      ...Array.from({ length: 15 }, (_, i) => message(120 + i, 'c')),
    ];
    expect(await s.feed(fetch)).toBe('commit');
    // Closing a alone leaves ~350 bytes, below 750: b and c stay open.
    expect(s.ids('batches').map(([k, ids]) => [k, ids.length])).toEqual([['a', 100]]);
    s.advance(30_000);
    await s.settle();
    expect(s.ids('batches').map(([k, ids]) => [k, ids.length])).toEqual([
      ['a', 100],
      ['b', 20],
      ['c', 15],
    ]);
  });

  it('after a reset (abort) nothing of the old window is produced', async () => {
    const s = setup({ a: {} });
    await s.feed([message(0, 'a')]);
    s.handler.reset();
    s.advance(50_000);
    await s.settle();
    expect(s.sent).toEqual([]);
    expect(s.commits).toEqual([]);
  });

  it('everything it writes validates: batches, and dead letters whose headers match and poison keeps its bytes', async () => {
    const input = fc.array(
      fc.oneof(
        fc.record({ webhook: fc.constantFrom('a', 'b', 'deleted') }),
        fc.record({ junk: fc.uint8Array({ maxLength: 40 }) }),
        fc.record({ listed: fc.array(fc.constantFrom('a', 'b', 'deleted'), { minLength: 1, maxLength: 4 }) }),
        // JSON that looks like the per-event form but is not: poison, never a batch.
        fc.record({
          broken: fc.constantFrom(
            { webhooks: [] },
            { webhooks: 'a' },
            { webhooks: [{ id: '' }] },
            { webhooks: [{ id: 'a', url: 'u' }] },
          ),
        }),
      ),
      { minLength: 1, maxLength: 30 },
    );
    await fc.assert(
      fc.asyncProperty(input, async (items) => {
        const s = setup({ a: {}, b: { format: 'jsonl', batch: { max_events: 2, window_ms: 30_000 } } });
        const messages = items.map((item, offset) =>
          'junk' in item
            ? ({ ...message(offset, 'x'), value: Buffer.from(item.junk) } as KafkaRecord)
            : 'broken' in item
              ? ({ ...message(offset, 'x'), value: Buffer.from(JSON.stringify(item.broken)) } as KafkaRecord)
              : 'listed' in item
                ? eventDispatchMessage(offset, item.listed, offset % 2 === 0 ? 'framed' : 'json')
                : message(offset, item.webhook),
        );
        await s.handler.onMessages(messages, s.tx, async () => {});
        // Past every window, then past the commit delay: every open batch has left.
        s.advance(30_000);
        await s.settle();
        s.advance(COMMIT_DELAY_MS);
        await s.settle();
        for (const r of s.sent) {
          const value = Buffer.from(String(r.value));
          if (r.topic === 'batches') {
            expect(parseBatchRecord(value)).toMatchObject({ ok: true });
            continue;
          }
          if (r.topic === 'marks') continue; // watermarks: checked in watermarks.test.ts
          const letter = parseDeadLetter(value);
          if (!letter.ok) throw new Error(letter.error);
          const offset = letter.value.source!.offset;
          expect(letter.value.source!.topic).toBe('dispatch');
          expect(r.headers).toEqual(deadLetterHeaders(letter.value));
          if (letter.value.reason === 'poison')
            expect(Buffer.from(letter.value.source!.value_b64 ?? '', 'base64')).toEqual(
              messages[Number(offset)]!.value,
            );
        }
        const events = s.sent.filter((r) => r.topic === 'batches').flatMap((r) => decoded(r.value).event_ids);
        const pairs = items.reduce((n, item) => n + ('listed' in item ? new Set(item.listed).size : 1), 0);
        expect(events.length + s.sent.filter((r) => r.topic === 'dlq').length).toBe(pairs);
      }),
      { numRuns: 200 },
    );
  });

  it("frees a closed batch's value once its send is acknowledged, and not when the send fails", async () => {
    for (const outcome of ['acknowledged', 'failed'] as const) {
      const s = setup({ a: { batch: { max_events: 500, window_ms: 30_000 } } });
      const given: OutputRecord[] = [];
      const copies: Buffer[] = [];
      const tx: PartitionTx = {
        send: async (records) => {
          for (const r of records) {
            given.push(r);
            copies.push(Buffer.from(r.value as Buffer));
          }
          if (outcome === 'failed') throw new Error('broker unavailable');
        },
      };
      // Two full batches of 500 (~9 KB each: values of their own, not on Node's pool).
      const run = s.handler.onMessages(
        Array.from({ length: 1000 }, (_, i) => message(i, 'a')),
        tx,
        async () => {},
      );
      if (outcome === 'failed') await expect(run).rejects.toThrow('broker unavailable');
      else await run;
      const batches = given.filter((r) => r.topic === 'batches');
      expect(batches.length).toBeGreaterThanOrEqual(1);
      const ids = copies.map((c) => decoded(c).event_ids.length);
      expect(ids[0]).toBe(500);
      for (const [i, r] of batches.entries()) {
        const value = r.value as Buffer;
        if (outcome === 'acknowledged') expect(value.length).toBe(0);
        else expect(value.equals(copies[i]!)).toBe(true);
      }
      if (outcome === 'acknowledged') expect(ids).toEqual([500, 500]);
    }
  });
});
