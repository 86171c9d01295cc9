import { summarise } from '@hookpost/deadletters';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeadLetterBook, type LetterSummary } from './dead-letter-book.ts';

const letter = fc.record({
  dlq_id: fc.uuid(),
  webhook_id: fc.constantFrom('w1', 'w2', null),
  reason: fc.constantFrom('exhausted', 'gone', 'refused'),
  dead_at: fc.integer({ min: 0, max: 50 }),
  events: fc.integer({ min: 0, max: 5 }),
  attempts: fc.integer({ min: 0, max: 4 }),
  batch_id: fc.option(fc.string(), { nil: null }),
  error: fc.option(fc.string(), { nil: null }),
});

describe('dead-letter book', () => {
  it('adds record by record to what a full read computes: counts by reason, the newest first', () => {
    fc.assert(
      fc.property(fc.array(letter, { maxLength: 80 }), fc.integer({ min: 1, max: 20 }), (ls, keep) => {
        const book = new DeadLetterBook(keep);
        for (const l of ls) book.add(l);
        const mine = ls.filter((l) => l.webhook_id === 'w1');
        const got = book.webhook('w1', keep);
        expect(got.total).toBe(mine.length);
        const rows = summarise(
          mine.map((l) => ({ ...l, batch: null, dispatch: Array(l.events).fill({}), attempts: [] }) as never),
        );
        const byReason = (rs: { reason: string; count: number }[]) =>
          Object.fromEntries(rs.map((r) => [r.reason, r.count]));
        expect(byReason(got.byReason)).toEqual(byReason(rows));
        for (const r of got.byReason) {
          const of = mine.filter((l) => l.reason === r.reason);
          expect(r.events).toBe(of.reduce((a, l) => a + l.events, 0));
          expect(r.oldest).toBe(Math.min(...of.map((l) => l.dead_at)));
        }
        // The newest `keep` by dead_at, newest first (ties in any order).
        const times = got.letters.map((l) => l.dead_at);
        expect(times).toEqual([...times].sort((a, b) => b - a));
        expect(times).toEqual(
          mine
            .map((l) => l.dead_at)
            .sort((a, b) => b - a)
            .slice(0, keep),
        );
        expect(book.total).toBe(ls.length);
      }),
      { numRuns: 300 },
    );
  });

  it('marks replays from the ledger and counts the last hour and day, dropping what is older', () => {
    const now = Date.now();
    const book = new DeadLetterBook(10);
    const l = (id: string, dead_at: number): LetterSummary => ({
      dlq_id: id,
      webhook_id: 'w',
      reason: 'exhausted',
      dead_at,
      events: 1,
      attempts: 1,
      batch_id: null,
      error: null,
    });
    for (const [id, at] of [
      ['a', now - 25 * 3_600_000],
      ['b', now - 2 * 3_600_000],
      ['c', now - 3_600_000],
      ['d', now],
    ] as const)
      book.add(l(id, at));
    book.replayed('b', 42);
    expect(book.webhook('w', 10).letters.map((x) => [x.dlq_id, x.replayed_at])).toEqual([
      ['d', null],
      ['c', null],
      ['b', 42],
      ['a', null],
    ]);
    book.unreplay('b');
    expect(book.webhook('w', 10).letters[2]!.replayed_at).toBeNull();
    expect(book.since(now - 3_600_000, now)).toBe(2);
    expect(book.since(now - 24 * 3_600_000, now)).toBe(3);
    expect(book.webhook('nobody', 10)).toEqual({ total: 0, byReason: [], letters: [] });
  });
});
