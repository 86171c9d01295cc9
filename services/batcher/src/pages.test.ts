import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE, type Page, PagePool } from './pages.ts';

const SLAB = 64 * PAGE_SIZE;

describe('PagePool', () => {
  it('never hands out a page in use twice, and keeps at most `keep` free bytes plus one slab once all are back', () => {
    fc.assert(
      fc.property(
        // Takes (positive) and gives (negative: that many of the held pages, oldest or newest first).
        fc.array(fc.tuple(fc.integer({ min: -400, max: 400 }), fc.boolean()), {
          minLength: 1,
          maxLength: 60,
        }),
        fc.constantFrom(0, PAGE_SIZE, SLAB, 8 * SLAB),
        (ops, keep) => {
          const pool = new PagePool({ keep });
          const held: { page: Page; mark: number }[] = [];
          let mark = 0;
          for (const [n, oldest] of ops) {
            if (n >= 0) {
              for (let i = 0; i < n; i += 1) {
                const page = pool.take();
                expect(page.bytes.length).toBe(PAGE_SIZE);
                mark += 1;
                page.bytes.fill(0);
                page.bytes.writeUInt32LE(mark, 0);
                page.bytes.writeUInt32LE(mark, PAGE_SIZE - 4);
                held.push({ page, mark });
              }
            } else {
              const k = Math.min(held.length, -n);
              pool.give((oldest ? held.splice(0, k) : held.splice(held.length - k, k)).map((h) => h.page));
            }
            // Every page still held has its own bytes: no other holder wrote it.
            for (const h of held) {
              expect(h.page.bytes.readUInt32LE(0)).toBe(h.mark);
              expect(h.page.bytes.readUInt32LE(PAGE_SIZE - 4)).toBe(h.mark);
            }
            expect(pool.usedBytes).toBe(held.length * PAGE_SIZE);
            expect(pool.allocatedBytes % SLAB).toBe(0);
          }
          pool.give(held.splice(0).map((h) => h.page));
          expect(pool.usedBytes).toBe(0);
          expect(pool.allocatedBytes).toBeLessThanOrEqual(keep + SLAB);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reuses freed pages before it grows', () => {
    const pool = new PagePool();
    const first = Array.from({ length: 1000 }, () => pool.take());
    const allocated = pool.allocatedBytes;
    expect(allocated).toBe(Math.ceil(1000 / 64) * SLAB);
    for (let round = 0; round < 50; round += 1) {
      pool.give(first.splice(0, 500));
      first.push(...Array.from({ length: 500 }, () => pool.take()));
    }
    expect(pool.allocatedBytes).toBe(allocated);
  });

  it('gives memory back after a burst: 100 000 pages (390 MiB) taken and returned leave `keep` and a slab', () => {
    const pool = new PagePool({ keep: 8 << 20 });
    const burst = Array.from({ length: 100_000 }, () => pool.take());
    expect(pool.allocatedBytes).toBeGreaterThanOrEqual(100_000 * PAGE_SIZE);
    for (let i = 0; i < burst.length; i += 1000) pool.give(burst.slice(i, i + 1000));
    expect(pool.usedBytes).toBe(0);
    expect(pool.allocatedBytes).toBeLessThanOrEqual((8 << 20) + SLAB);
  });
});
