import { deadLetterHeaders, parseBatchRecord, parseDeadLetter, type Webhook } from '@hookpost/contracts';
import type { KafkaRecord, OutputRecord, PartitionControl, PartitionTx } from '@hookpost/kafka';
import { createLogger } from '@hookpost/logger';
import { createRegistry } from '@hookpost/metrics';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batcherHandler, type Clock, COMMIT_DELAY_MS } from './handler.ts';
import { batcherMetrics } from './metrics.ts';
import { dispatchMessage } from './test-fixtures.ts';

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

function setup(webhooks: Record<string, Partial<Webhook>>) {
  const { clock, advance } = manualClock();
  const sent: OutputRecord[] = [];
  /** [time, committed offset] of every commit. */
  const commits: [number, string][] = [];
  let position = 0;
  const tx: PartitionTx = { send: async (r) => void sent.push(...r) };
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
  const handler = batcherHandler(handlerDeps(webhooks, clock))(control);
  const feed = async (messages: KafkaRecord[]) => {
    const decision = await handler.onMessages(messages, tx, async () => {});
    position = Number(messages.at(-1)!.offset) + 1;
    return decision;
  };
  const settle = () => new Promise((r) => setImmediate(r));
  const ids = (topic: string) =>
    sent.filter((r) => r.topic === topic).map((r) => [r.key, JSON.parse(String(r.value)).event_ids]);
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

  it(`produces a full batch at once and commits it within ${COMMIT_DELAY_MS} ms, whatever the service window`, async () => {
    const s = setup({ a: { batch: { max_events: 2, window_ms: 30_000 } } });
    await s.feed([message(0, 'a'), message(1, 'a'), message(2, 'a')]);
    expect(s.ids('batches')).toEqual([['a', ['e0', 'e1']]]);
    s.advance(COMMIT_DELAY_MS);
    await s.settle();
    expect(s.commits).toEqual([[COMMIT_DELAY_MS, '2']]);
  });

  it('dead-letters records of a deleted webhook and undecodable records', async () => {
    const s = setup({});
    const junk = { ...message(1, 'x'), value: Buffer.from('{oops') } as KafkaRecord;
    await s.feed([message(0, 'gone'), junk]);
    expect(s.sent.map((r) => [r.topic, JSON.parse(String(r.value)).reason])).toEqual([
      ['dlq', 'deleted'],
      ['dlq', 'poison'],
    ]);
  });

  it('closes every open batch and commits when the open batches hold too many bytes', async () => {
    const s = setup({ a: {}, b: {} });
    const many = Array.from({ length: 200 }, (_, i) => message(i, i % 2 ? 'a' : 'b'));
    expect(await s.feed(many)).toBe('commit');
    expect(s.sent.flatMap((r) => JSON.parse(String(r.value)).event_ids)).toHaveLength(200);
  });

  it("the byte bound is the instance's: the partition whose fetch takes the total past it closes its own batches", async () => {
    const sent: OutputRecord[] = [];
    const tx: PartitionTx = { send: async (r) => void sent.push(...r) };
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
    expect(sent.map((r) => [r.key, JSON.parse(String(r.value)).event_ids.length])).toEqual([['b', 60]]);
    // With partition 1's bytes given back, partition 0's next fetch stays below the bound again.
    expect(await p0.onMessages([message(60, 'a')], tx, async () => {})).toBe('hold');
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
      ),
      { minLength: 1, maxLength: 30 },
    );
    await fc.assert(
      fc.asyncProperty(input, async (items) => {
        const s = setup({ a: {}, b: { format: 'jsonl', batch: { max_events: 2, window_ms: 30_000 } } });
        const messages = items.map((item, offset) =>
          'junk' in item
            ? ({ ...message(offset, 'x'), value: Buffer.from(item.junk) } as KafkaRecord)
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
        const events = s.sent
          .filter((r) => r.topic === 'batches')
          .flatMap((r) => JSON.parse(String(r.value)).event_ids);
        expect(events.length + s.sent.filter((r) => r.topic === 'dlq').length).toBe(items.length);
      }),
      { numRuns: 200 },
    );
  });
});
