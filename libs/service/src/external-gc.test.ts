import { describe, expect, it } from 'vitest';
import { ExternalGc } from './external-gc.ts';

const MiB = 1024 * 1024;

function setup(thresholdMiB: number) {
  let external = 0;
  let now = 0;
  const collections: [number, number][] = [];
  const gc = new ExternalGc({
    thresholdBytes: thresholdMiB * MiB,
    read: () => external,
    now: () => now,
    gc: () => {
      external = Math.floor(external / 4);
    },
    onCollect: (before, after) => collections.push([before, after]),
  });
  return {
    gc,
    collections,
    set: (mib: number) => {
      external = mib * MiB;
    },
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('ExternalGc', () => {
  it('collects at the threshold, not below it, and reports what it freed', () => {
    const s = setup(64);
    s.set(64 - 1 / MiB);
    expect(s.gc.check()).toBe(false);
    s.set(64);
    expect(s.gc.check()).toBe(true);
    expect(s.collections).toEqual([[64 * MiB, 16 * MiB]]);
  });

  it('collects at most once per second however far past the threshold the bytes stay', () => {
    const s = setup(64);
    let collected = 0;
    // 10 000 checks 1 ms apart with 10 GiB held: 10 s, so 10 collections.
    for (let i = 0; i < 10_000; i += 1) {
      s.set(10_240);
      if (s.gc.check()) collected += 1;
      s.advance(1);
    }
    expect(collected).toBe(10);
  });

  it('does nothing at threshold 0 (left to V8), and start/stop are idempotent', () => {
    const s = setup(0);
    s.set(1_000_000);
    expect(s.gc.check()).toBe(false);
    s.gc.start();
    s.gc.stop();
    const t = setup(64);
    t.gc.start();
    t.gc.start();
    t.gc.stop();
    t.gc.stop();
  });

  it('the default collection is a real full one: an unreachable object is gone after one check', async () => {
    const ref = new WeakRef(Buffer.alloc(64 * 1024, 1));
    // A WeakRef's target lives at least to the end of the job that made it.
    await new Promise((r) => setImmediate(r));
    expect(new ExternalGc({ thresholdBytes: 1 }).check()).toBe(true);
    expect(ref.deref()).toBeUndefined();
  });
});
