import type { BatchRecord, DispatchRecord } from '@hookpost/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BatchSettings,
  type ClosedBatch,
  recordEntry as entryOf,
  WindowAccumulator,
} from './accumulator.ts';
import { pages } from './pages.ts';
import { decoded } from './test-fixtures.ts';

const rec = (i: number, webhook = 'w1', pad = 0): DispatchRecord => ({
  event_id: `e${i}`,
  webhook_id: webhook,
  type: 'activity.sent',
  event_created_at: 1000 + i,
  dispatched_at: 0,
  payload: { n: i, pad: 'x'.repeat(pad) },
});
const settings = (over: Partial<BatchSettings> = {}): BatchSettings => ({
  webhookId: 'w1',
  format: 'json',
  maxEvents: 500,
  windowMs: 30_000,
  ...over,
});

function run(n: number, options: { maxBytes?: number; pad?: number; format?: 'json' | 'jsonl' } = {}) {
  const acc = new WindowAccumulator({
    topic: 't',
    partition: 0,
    windowMs: 30_000,
    maxBytes: options.maxBytes ?? 1 << 20,
  });
  const early: ClosedBatch[] = [];
  for (let i = 0; i < n; i += 1)
    early.push(
      ...acc.add(
        rec(i, 'w1', options.pad),
        String(i),
        settings(options.format ? { format: options.format } : {}),
        10 + i,
      ),
    );
  return { acc, early, late: acc.drain(99_999) };
}

/** The BatchRecord a closed batch's value is. */
const record = (b: ClosedBatch): BatchRecord => decoded(b.value);
const parse = (b: ClosedBatch) => {
  const { body } = record(b);
  return b.format === 'jsonl'
    ? body
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l))
    : JSON.parse(body);
};

describe('WindowAccumulator', () => {
  it.each([
    [1, [], [1]],
    [499, [], [499]],
    [500, [500], []],
    [501, [500], [1]],
    [1001, [500, 500], [1]],
  ])('%i events → full batches at once %j, the rest at the window end %j', (n, early, late) => {
    const r = run(n);
    expect(r.early.map((b) => b.event_ids.length)).toEqual(early);
    expect(r.late.map((b) => b.event_ids.length)).toEqual(late);
    const all = [...r.early, ...r.late];
    expect(all.flatMap((b) => parse(b).map((p: { n: number }) => p.n))).toEqual(
      Array.from({ length: n }, (_, i) => i),
    );
    expect(new Set(all.map((b) => b.batch_id)).size).toBe(all.length);
    expect(r.acc.bufferedEvents).toBe(0);
    expect(r.acc.bytes).toBe(0);
  });

  it('a full batch leaves memory at once: never more than the open batch is held', () => {
    const acc = new WindowAccumulator({ topic: 't', partition: 0, windowMs: 30_000, maxBytes: 1 << 20 });
    for (let i = 0; i < 1200; i += 1) {
      acc.add(rec(i), String(i), settings(), i);
      expect(acc.bufferedEvents).toBeLessThan(500);
    }
  });

  it('splits on the byte cap and keeps every body within it', () => {
    const { early, late } = run(40, { maxBytes: 2000, pad: 100 });
    const all = [...early, ...late];
    expect(all.length).toBeGreaterThan(1);
    for (const b of all) {
      expect(Buffer.byteLength(record(b).body)).toBe(b.bodyBytes);
      expect(b.bodyBytes).toBeLessThanOrEqual(2000);
    }
    expect(all.flatMap((b) => b.event_ids)).toEqual(Array.from({ length: 40 }, (_, i) => `e${i}`));
  });

  it('writes JSON Lines that parse back to exactly the payloads', () => {
    const { late } = run(3, { format: 'jsonl' });
    expect(record(late[0]!).body).toBe('{"n":0,"pad":""}\n{"n":1,"pad":""}\n{"n":2,"pad":""}\n');
  });

  it('respects the webhook max events and records times', () => {
    const acc = new WindowAccumulator({ topic: 't', partition: 3, windowMs: 30_000, maxBytes: 1 << 20 });
    const out = [0, 1, 2].flatMap((i) => acc.add(rec(i), String(i), settings({ maxEvents: 2 }), 100 + i));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({
      event_ids: ['e0', 'e1'],
      first_enqueued_at: 100,
      oldest_event_at: 1000,
      created_at: 101,
    });
  });

  it("each batch closes at its own webhook's window, capped by the service-wide window", () => {
    const acc = new WindowAccumulator({ topic: 't', partition: 0, windowMs: 30_000, maxBytes: 1 << 20 });
    expect(acc.deadline()).toBeUndefined();
    acc.add(rec(0, 'slow'), '0', settings({ webhookId: 'slow', windowMs: 60_000 }), 1000);
    expect(acc.deadline()).toBe(31_000);
    acc.add(rec(1, 'fast'), '1', settings({ webhookId: 'fast', windowMs: 5_000 }), 2000);
    expect(acc.deadline()).toBe(7_000);
    expect(acc.closeDue(6_999)).toEqual([]);
    expect(acc.closeDue(7_000).map((b) => b.webhook_id)).toEqual(['fast']);
    // The slow batch stays open, and with it the offset a commit must not pass.
    expect(acc.firstOpenOffset()).toBe(0n);
    expect(acc.deadline()).toBe(31_000);
    expect(acc.closeDue(31_000).map((b) => b.webhook_id)).toEqual(['slow']);
    expect(acc.deadline()).toBeUndefined();
    expect(acc.firstOpenOffset()).toBeUndefined();
  });

  it('reports the last input offset of every closed batch', () => {
    const closed: [string, string][] = [];
    const acc = new WindowAccumulator({
      topic: 't',
      partition: 0,
      windowMs: 30_000,
      maxBytes: 1 << 20,
      onClose: (w, o) => void closed.push([w, o]),
    });
    acc.add(rec(0, 'a'), '10', settings({ webhookId: 'a', maxEvents: 2 }), 0);
    acc.add(rec(1, 'b'), '11', settings({ webhookId: 'b' }), 0);
    acc.add(rec(2, 'a'), '12', settings({ webhookId: 'a', maxEvents: 2 }), 0);
    expect(closed).toEqual([['a', '12']]);
    acc.closeWebhook('b', 1);
    expect(closed).toEqual([
      ['a', '12'],
      ['b', '11'],
    ]);
  });

  it('groups per webhook and gives a stable batch id for the same first record', () => {
    const a = run(2).late[0]!;
    const b = run(2).late[0]!;
    expect(a.batch_id).toBe(b.batch_id);
    const acc = new WindowAccumulator({ topic: 't', partition: 0, windowMs: 1, maxBytes: 1 << 20 });
    acc.add(rec(1, 'x'), '1', settings({ webhookId: 'x' }), 0);
    acc.add(rec(2, 'y'), '2', settings({ webhookId: 'y' }), 0);
    acc.add(rec(3, 'x'), '3', settings({ webhookId: 'x' }), 0);
    expect(acc.drain(1).map((b) => [b.webhook_id, b.event_ids])).toEqual([
      ['x', ['e1', 'e3']],
      ['y', ['e2']],
    ]);
  });

  it('the record is byte for byte the framed BatchRecord: its head, a newline, the body joined from the payloads', () => {
    // Payloads with quotes, backslashes, control characters, non-ASCII and lone surrogates: the body is
    // their JSON text as it is, and the reader gives back exactly that text.
    const payload = fc.dictionary(
      fc.string({ unit: 'binary', maxLength: 6 }),
      fc.jsonValue({ maxDepth: 2 }),
      {
        maxKeys: 4,
      },
    );
    fc.assert(
      fc.property(
        fc.array(payload, { minLength: 1, maxLength: 12 }),
        fc.constantFrom('json' as const, 'jsonl' as const),
        fc.integer({ min: 1, max: 12 }),
        (payloads, format, maxEvents) => {
          const acc = new WindowAccumulator({
            topic: 't',
            partition: 2,
            windowMs: 30_000,
            maxBytes: 1 << 20,
          });
          const closed = payloads.flatMap((p, i) =>
            acc.add({ ...rec(i), payload: p }, String(i), settings({ format, maxEvents }), 5 + i),
          );
          closed.push(...acc.drain(50));
          let i = 0;
          for (const b of closed) {
            const parts = b.event_ids.map(() => JSON.stringify(payloads[i++]));
            const body = format === 'jsonl' ? `${parts.join('\n')}\n` : `[${parts.join(',')}]`;
            const { value, bodyBytes, ...meta } = b;
            const expected: BatchRecord = {
              batch_id: meta.batch_id,
              webhook_id: meta.webhook_id,
              format: meta.format,
              body,
              event_ids: meta.event_ids,
              first_enqueued_at: meta.first_enqueued_at,
              oldest_event_at: meta.oldest_event_at,
              created_at: meta.created_at,
            };
            const { body: _, ...head } = expected;
            const framed = Buffer.concat([
              Buffer.from([0x00, 0x68, 0x62, 0x31]),
              Buffer.from(`${JSON.stringify(head)}\n`),
              Buffer.from(body),
            ]);
            expect(value.equals(framed)).toBe(true);
            expect(record(b)).toEqual(expected);
            expect(bodyBytes).toBe(Buffer.byteLength(body));
          }
          expect(i).toBe(payloads.length);
          expect(acc.bytes).toBe(0);
        },
      ),
      { numRuns: 40 },
    );
  }, 30_000);

  it('bodies crossing its 4 KiB pages come out byte for byte, for batches of several webhooks interleaved and reset', () => {
    // Pieces at, just past and far past the page and slab sizes, with characters that escape to 2 or 6
    // bytes or are 2, 3 or 4 bytes of UTF-8 (a string piece is written into the pages as UTF-8).
    const size = fc.oneof(
      fc.constantFrom(0, 1, 4095, 4096, 4097, 8191, 8192, 8193, 262_143, 262_144, 262_145, 600_000),
      fc.integer({ min: 0, max: 140_000 }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(size, fc.constantFrom('x', '"', '\\', '\n', 'é', '\u2028', '😀'), fc.nat(2)), {
          minLength: 1,
          maxLength: 30,
        }),
        fc.constantFrom('json' as const, 'jsonl' as const),
        fc.nat(30),
        (events, format, resetAt) => {
          const acc = new WindowAccumulator({
            topic: 't',
            partition: 0,
            windowMs: 30_000,
            maxBytes: 4 << 20,
          });
          // A second partition's batches, dropped by a reset part way, whose pages the first one reuses.
          const other = new WindowAccumulator({
            topic: 't',
            partition: 1,
            windowMs: 30_000,
            maxBytes: 4 << 20,
          });
          const byWebhook = new Map<string, unknown[]>();
          const closed: ClosedBatch[] = [];
          const before = pages.usedBytes;
          events.forEach(([n, ch, w], i) => {
            other.add(
              { ...rec(i, 'o'), payload: { s: ch.repeat(n >> 4) } },
              String(i),
              settings({ webhookId: 'o' }),
              i,
            );
            if (i === resetAt) other.reset();
            const webhookId = `w${w}`;
            const payload = { n: i, s: ch.repeat(Math.ceil(n / 6)) };
            byWebhook.set(webhookId, [...(byWebhook.get(webhookId) ?? []), payload]);
            closed.push(
              ...acc.add({ ...rec(i, webhookId), payload }, String(i), settings({ webhookId, format }), i),
            );
          });
          closed.push(...acc.drain(99));
          const got = new Map<string, unknown[]>();
          for (const b of closed) {
            const { body } = record(b);
            expect(b.bodyBytes).toBe(Buffer.byteLength(body));
            got.set(b.webhook_id, [...(got.get(b.webhook_id) ?? []), ...parse(b)]);
          }
          expect(got).toEqual(byWebhook);
          expect(acc.bytes).toBe(0);
          other.reset();
          expect(pages.usedBytes).toBe(before);
        },
      ),
      { numRuns: 60 },
    );
  }, 60_000);

  it('counts the bytes it holds in the shared total and gives them back on close and reset', () => {
    const held = { bytes: 0 };
    const a = new WindowAccumulator({ topic: 't', partition: 0, windowMs: 30_000, maxBytes: 1 << 20, held });
    const b = new WindowAccumulator({ topic: 't', partition: 1, windowMs: 30_000, maxBytes: 1 << 20, held });
    a.add(rec(0), '0', settings(), 0);
    b.add(rec(1, 'w2'), '0', settings({ webhookId: 'w2' }), 0);
    expect(held.bytes).toBe(a.bytes + b.bytes);
    expect(a.bytes).toBe(Buffer.byteLength(JSON.stringify(rec(0).payload)));
    a.drain(1);
    expect(held.bytes).toBe(b.bytes);
    b.reset();
    expect(held.bytes).toBe(0);
  });

  it('a batch of one (max_events 1) is byte for byte the batch the paged path closes, its watermark included', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            pad: fc.nat(3000),
            text: fc.string({ unit: 'grapheme', maxLength: 40 }),
            format: fc.constantFrom('json' as const, 'jsonl' as const),
            version: fc.option(fc.nat(5), { nil: undefined }),
            webhook: fc.constantFrom('w1', 'w2', 'w3'),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        (events) => {
          const closedAt: string[][] = [[], []];
          const [one, paged] = [0, 1].map(
            (k) =>
              new WindowAccumulator({
                topic: 't',
                partition: 3,
                windowMs: 30_000,
                maxBytes: 1 << 20,
                onClose: (w, offset) => closedAt[k]!.push(`${w}@${offset}`),
              }),
          );
          events.forEach((e, i) => {
            const r = {
              ...rec(i, e.webhook, e.pad),
              payload: { n: i, text: e.text, pad: 'x'.repeat(e.pad) },
            };
            const s = { webhookId: e.webhook, format: e.format, windowMs: 30_000 };
            const [a] = one!.addEntry(entryOf(r), String(i), { ...s, maxEvents: 1 }, 50 + i, e.version);
            expect(paged!.addEntry(entryOf(r), String(i), { ...s, maxEvents: 2 }, 50 + i, e.version)).toEqual(
              [],
            );
            const [b] = paged!.closeWebhook(e.webhook, 50 + i);
            expect(a).toEqual(b);
            expect(parse(a!)).toEqual(e.format === 'jsonl' ? [r.payload] : [r.payload]);
          });
          expect(closedAt[0]).toEqual(closedAt[1]);
          expect(one!.openBatches).toBe(0);
          expect(one!.bufferedEvents).toBe(0);
          expect(one!.bytes).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });
});
