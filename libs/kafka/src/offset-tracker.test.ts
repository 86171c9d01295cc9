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
