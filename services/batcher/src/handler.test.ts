import { deadLetterHeaders, parseBatchRecord, parseDeadLetter, type Webhook } from '@hookpost/contracts';
import type { KafkaMessage, OutputRecord, PartitionControl, PartitionTx } from '@hookpost/kafka';
import { createLogger } from '@hookpost/logger';
import { createRegistry } from '@hookpost/metrics';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batcherHandler, type Clock } from './handler.ts';
import { batcherMetrics } from './metrics.ts';

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

const message = (offset: number, webhook: string): KafkaMessage =>
  ({
    offset: String(offset),
    key: Buffer.from(webhook),
    value: Buffer.from(
      JSON.stringify({
        event_id: `e${offset}`,
        webhook_id: webhook,
        type: 't',
        event_created_at: 0,
        dispatched_at: 0,
        payload: { o: offset },
      }),
    ),
    headers: {},
  }) as unknown as KafkaMessage;

function setup(webhooks: Record<string, Partial<Webhook>>) {
  const { clock, advance } = manualClock();
  const sent: OutputRecord[] = [];
  const commits: number[] = [];
  const tx: PartitionTx = { send: async (r) => void sent.push(...r) };
  const control: PartitionControl = {
    topic: 'dispatch',
    partition: 0,
    commit: async (fn) => {
      await fn(tx);
      commits.push(clock.now());
    },
  };
  const handler = batcherHandler({
    webhook: (id) =>
      webhooks[id]
        ? ({ id, format: 'json', batch: { max_events: 500, window_ms: 30_000 }, ...webhooks[id] } as Webhook)
        : undefined,
    topics: { batches: 'batches', dlq: 'dlq' },
    windowMs: 1000,
    maxBytes: 1 << 20,
    maxBufferedBytes: 1000,
    clock,
    metrics: batcherMetrics(createRegistry()),
    logger: createLogger({ name: 't', level: 'silent' }),
  })(control);
  return { handler, tx, sent, commits, advance };
}

describe('batcher handler', () => {
  it('holds the transaction during the window and at its end produces every open batch and commits', async () => {
    const s = setup({ a: {}, b: {} });
    expect(
      await s.handler.onMessages([message(0, 'a'), message(1, 'b'), message(2, 'a')], s.tx, async () => {}),
    ).toBe('hold');
    expect(s.sent).toEqual([]);
    s.advance(999);
    expect(s.commits).toEqual([]);
    s.advance(1);
    await new Promise((r) => setImmediate(r));
    expect(s.commits).toEqual([1000]);
    expect(s.sent.map((r) => [r.topic, r.key, JSON.parse(String(r.value)).event_ids])).toEqual([
      ['batches', 'a', ['e0', 'e2']],
      ['batches', 'b', ['e1']],
    ]);
  });

  it('produces a full batch at once, without waiting for the window', async () => {
    const s = setup({ a: { batch: { max_events: 2, window_ms: 30_000 } } });
    await s.handler.onMessages([message(0, 'a'), message(1, 'a'), message(2, 'a')], s.tx, async () => {});
    expect(s.sent.map((r) => JSON.parse(String(r.value)).event_ids)).toEqual([['e0', 'e1']]);
  });

  it('dead-letters records of a deleted webhook and undecodable records', async () => {
    const s = setup({});
    const junk = { ...message(1, 'x'), value: Buffer.from('{oops') } as KafkaMessage;
    await s.handler.onMessages([message(0, 'gone'), junk], s.tx, async () => {});
    expect(s.sent.map((r) => [r.topic, JSON.parse(String(r.value)).reason])).toEqual([
      ['dlq', 'deleted'],
      ['dlq', 'poison'],
    ]);
  });

  it('ends the window early and commits when the open batches hold too many bytes', async () => {
    const s = setup({ a: {}, b: {} });
    const many = Array.from({ length: 200 }, (_, i) => message(i, i % 2 ? 'a' : 'b'));
    expect(await s.handler.onMessages(many, s.tx, async () => {})).toBe('commit');
    expect(s.sent.flatMap((r) => JSON.parse(String(r.value)).event_ids)).toHaveLength(200);
  });

  it('after a reset (abort) nothing of the old window is produced', async () => {
    const s = setup({ a: {} });
    await s.handler.onMessages([message(0, 'a')], s.tx, async () => {});
    s.handler.reset();
    s.advance(5000);
    await new Promise((r) => setImmediate(r));
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
            ? ({ ...message(offset, 'x'), value: Buffer.from(item.junk) } as KafkaMessage)
            : message(offset, item.webhook),
        );
        await s.handler.onMessages(messages, s.tx, async () => {});
        s.advance(1000);
        await new Promise((r) => setImmediate(r));
        for (const r of s.sent) {
          const value = Buffer.from(String(r.value));
          if (r.topic === 'batches') {
            expect(parseBatchRecord(value)).toMatchObject({ ok: true });
            continue;
          }
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
