import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OffsetTracker } from './offset-tracker.ts';

describe('OffsetTracker', () => {
  it('commits only the contiguous finished prefix', () => {
    const t = new OffsetTracker(10);
    for (const o of [10, 11, 12]) t.accept(o);
    expect(t.committable).toBe(10);
    expect(t.complete(11)).toBe(false);
    expect(t.committable).toBe(10);
    expect(t.complete(10)).toBe(true);
    expect(t.committable).toBe(12);
    t.complete(12);
    expect(t.committable).toBe(13);
    expect(t.size).toBe(0);
  });

  it('skips offset gaps (transaction markers) without waiting for them', () => {
    const t = new OffsetTracker(0);
    t.accept(0);
    t.accept(2);
    t.complete(2);
    t.complete(0);
    expect(t.committable).toBe(3);
  });

  it('passes offsets of markers only once everything before them is done', () => {
    const t = new OffsetTracker(0);
    t.accept(0);
    t.accept(1);
    expect(t.skip(2, 3)).toBe(false);
    expect(t.committable).toBe(0);
    t.complete(1);
    t.complete(0);
    expect(t.committable).toBe(4);
    expect(t.skip(4, 4)).toBe(true);
    expect(t.committable).toBe(5);
    // Behind or inside what is tracked: ignored.
    t.accept(5);
    expect(t.skip(5, 6)).toBe(false);
    t.complete(5);
    expect(t.committable).toBe(6);
  });

  it('a held record blocks the commit point but not the records behind it', () => {
    const t = new OffsetTracker(0);
    t.hold(0);
    t.accept(1);
    t.complete(1);
    expect(t.committable).toBe(0);
    expect(t.seen(0)).toBe(false);
    expect(t.seen(1)).toBe(true);
    t.accept(0);
    t.complete(0);
    expect(t.committable).toBe(2);
  });

  it('a queued record is seen, not pending, and blocks the commit point until it is started and done', () => {
    const t = new OffsetTracker(0);
    t.accept(0);
    t.queue(1);
    t.hold(2);
    t.queue(2);
    expect(t.seen(1)).toBe(true);
    expect(t.seen(2)).toBe(true);
    expect(t.pending).toBe(1);
    expect(t.size).toBe(3);
    t.complete(0);
    expect(t.committable).toBe(1);
    // Not started: completing it is ignored.
    expect(t.complete(1)).toBe(false);
    t.accept(1);
    t.accept(2);
    expect(t.pending).toBe(2);
    expect(() => t.queue(1)).toThrow();
    t.complete(2);
    expect(t.committable).toBe(1);
    t.complete(1);
    expect(t.committable).toBe(3);
    expect(t.size).toBe(0);
  });

  it('remembers what it accepted so a re-fetch is skipped', () => {
    const t = new OffsetTracker(5);
    t.accept(5);
    t.accept(6);
    t.complete(5);
    expect(t.seen(5)).toBe(true);
    expect(t.seen(6)).toBe(true);
    expect(t.seen(7)).toBe(false);
    expect(() => t.accept(6)).toThrow();
  });

  it('never commits past an unfinished record, whatever the completion order', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat(200), { minLength: 1, maxLength: 60 }),
        fc.func(fc.nat()),
        (raw, order) => {
          const offsets = [...raw].sort((a, b) => a - b);
          const t = new OffsetTracker(offsets[0]);
          for (const o of offsets) t.accept(o);
          const shuffled = [...offsets].sort((a, b) => order(a) - order(b) || a - b);
          const done = new Set<number>();
          let last = t.committable;
          for (const o of shuffled) {
            t.complete(o);
            done.add(o);
            const c = t.committable;
            expect(c).toBeGreaterThanOrEqual(last);
            for (const x of offsets) if (x < c) expect(done.has(x)).toBe(true);
            last = c;
          }
          expect(t.committable).toBe(offsets[offsets.length - 1]! + 1);
        },
      ),
    );
  });
});

describe('OffsetTracker with a queue', () => {
  it('never commits past a queued or unfinished record, whatever the window and completion order', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat(200), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 8 }),
        fc.func(fc.nat()),
        (raw, window, pick) => {
          // What the partition consumer does: start up to `window`, queue the rest, start the oldest
          // queued one whenever a started one finishes (in any order).
          const offsets = [...raw].sort((a, b) => a - b);
          const t = new OffsetTracker(offsets[0]);
          const started: number[] = [];
          const queued: number[] = [];
          for (const o of offsets) {
            if (started.length < window) {
              t.accept(o);
              started.push(o);
            } else {
              t.queue(o);
              queued.push(o);
            }
          }
          const done = new Set<number>();
          let last = t.committable;
          while (started.length > 0) {
            const o = started.splice(pick(started.length, done.size) % started.length, 1)[0]!;
            t.complete(o);
            done.add(o);
            if (queued.length > 0) {
              const next = queued.shift()!;
              t.accept(next);
              started.push(next);
            }
            expect(t.pending).toBe(started.length);
            const c = t.committable;
            expect(c).toBeGreaterThanOrEqual(last);
            for (const x of offsets) if (x < c) expect(done.has(x)).toBe(true);
            last = c;
          }
          expect(t.committable).toBe(offsets[offsets.length - 1]! + 1);
        },
      ),
    );
  });
});

describe('OffsetTracker counts', () => {
  it('counts accepted-but-unfinished records', () => {
    const t = new OffsetTracker(0);
    t.hold(0);
    t.accept(1);
    t.accept(2);
    expect(t.pending).toBe(2);
    t.complete(2);
    expect(t.pending).toBe(1);
    t.accept(0);
    expect(t.pending).toBe(2);
    expect(t.size).toBe(3);
  });
});
