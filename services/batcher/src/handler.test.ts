import type { Webhook } from '@hookpost/contracts';
import type { KafkaMessage, OutputRecord, PartitionControl, PartitionTx } from '@hookpost/kafka';
import { createLogger } from '@hookpost/logger';
import { createRegistry } from '@hookpost/metrics';
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
});
