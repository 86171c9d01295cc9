import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { releaseBytes } from './release-bytes.ts';

describe('releaseBytes', () => {
  it('frees a Buffer that spans its own ArrayBuffer at once, and it reads as empty after', () => {
    const before = process.memoryUsage().arrayBuffers;
    const bufs = Array.from({ length: 64 }, () => Buffer.allocUnsafe(1 << 20).fill(7));
    expect(process.memoryUsage().arrayBuffers - before).toBeGreaterThanOrEqual(64 << 20);
    for (const b of bufs) expect(releaseBytes(b)).toBe(true);
    // No collection in between: the bytes went when each was released.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1 << 20);
    expect(bufs[0]!.length).toBe(0);
    expect(releaseBytes(bufs[0]!)).toBe(false);
  });

  it('leaves alone what it does not own whole: pool slices, views of a part, shared memory', () => {
    fc.assert(
      fc.property(fc.nat(20_000), fc.nat(100), fc.nat(100), (size, cutStart, cutEnd) => {
        // Small Buffers share Node's pool slab with their neighbours, which must keep their bytes.
        const neighbour = Buffer.from('neighbour');
        const mine = Buffer.from('x'.repeat(size % 4000));
        expect(releaseBytes(mine)).toBe(false);
        expect(neighbour.toString()).toBe('neighbour');
        const whole = Buffer.alloc(size + 2, 1);
        const start = 1 + (cutStart % (size + 1));
        const part = whole.subarray(start, Math.max(start, whole.length - (cutEnd % 2)));
        expect(releaseBytes(part)).toBe(false);
        expect(whole.length).toBe(size + 2);
        const shared = Buffer.from(new SharedArrayBuffer(size + 1));
        expect(releaseBytes(shared)).toBe(false);
        expect(shared.length).toBe(size + 1);
      }),
      { numRuns: 200 },
    );
  });
});
