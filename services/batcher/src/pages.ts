/**
 * The memory of open batches: fixed-size pages carved from slabs, given back when their batch closes
 * and reused by the next batches.
 *
 * Why not a Buffer per block: open batches of 1 000 webhooks interleave and live for up to 30 s, beside
 * the short-lived allocations of every fetch and send. Blocks of 512 B to 64 KiB each came from glibc's
 * main heap, which gives memory back only from its top, so freed blocks left it fragmented: in the
 * bench's throughput phase the batcher's `[heap]` mapping reached 107 MiB of its 281 MiB peak RSS
 * (/proc/<pid>/smaps; the fan-out's was 20 MiB) for at most 48 MiB of open batches. Slabs are 256 KiB,
 * above the mmap threshold the services run with (MALLOC_MMAP_THRESHOLD_, libs/service), so each is a
 * mapping of its own, and pages are recycled here rather than by malloc. Same phase, same hour: `[heap]`
 * 35-60 MiB; peak RSS with a 32 MiB bound 243 and 238 MiB against 247 with blocks (250-264 in earlier
 * runs), with 48 MiB within the runs' spread (259-276 against 271-281); external memory 110-116 against
 * 128 MiB.
 *
 * The pool keeps the slabs it grew to: at most the open-batch bound (BATCH_MAX_BUFFERED_BYTES) plus a
 * fetch's records and one page's tail per open batch. Once more than `keep` bytes of pages are free, a
 * slab all of whose pages are free is dropped, so memory goes back after a burst.
 */

export const PAGE_SIZE = 4096;
const PAGES_PER_SLAB = 64;
const SLAB_BYTES = PAGES_PER_SLAB * PAGE_SIZE;

/** A page: a view of PAGE_SIZE bytes of a slab. */
export interface Page {
  readonly bytes: Buffer;
  readonly slab: Slab;
}

interface Slab {
  /** Pages of this slab in use. */
  used: number;
}

export interface PagePoolOptions {
  /** Free bytes kept for reuse before fully free slabs are dropped (default 8 MiB). */
  keep?: number;
}

export class PagePool {
  private free: Page[] = [];
  private slabs = 0;
  /** Slabs none of whose pages is in use. */
  private empty = 0;
  private readonly keep: number;

  constructor(options: PagePoolOptions = {}) {
    this.keep = options.keep ?? 8 * 1024 * 1024;
  }

  /** Bytes of the slabs the pool holds (in use or free). */
  get allocatedBytes(): number {
    return this.slabs * SLAB_BYTES;
  }

  /** Bytes of pages in use. */
  get usedBytes(): number {
    return this.allocatedBytes - this.free.length * PAGE_SIZE;
  }

  take(): Page {
    const page = this.free.pop() ?? this.grow();
    if (page.slab.used === 0) this.empty -= 1;
    page.slab.used += 1;
    return page;
  }

  /** Gives pages back: the caller holds no view of them any more. */
  give(pages: readonly Page[]): void {
    for (const p of pages) {
      p.slab.used -= 1;
      if (p.slab.used === 0) this.empty += 1;
      this.free.push(p);
    }
    if (this.empty > 0 && this.free.length * PAGE_SIZE > this.keep + SLAB_BYTES) this.trim();
  }

  private grow(): Page {
    const memory = Buffer.allocUnsafeSlow(SLAB_BYTES);
    const slab: Slab = { used: 0 };
    const page = (i: number): Page => ({ bytes: memory.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE), slab });
    this.slabs += 1;
    this.empty += 1;
    // The first page is returned; the rest go on the free list in reverse so they are taken in order.
    for (let i = PAGES_PER_SLAB - 1; i >= 1; i -= 1) this.free.push(page(i));
    return page(0);
  }

  /** Drops the slabs none of whose pages is in use, while more than `keep` bytes are free. */
  private trim(): void {
    const dropped = new Set<Slab>();
    let free = this.free.length * PAGE_SIZE;
    for (const p of this.free) {
      if (free <= this.keep) break;
      if (p.slab.used === 0 && !dropped.has(p.slab)) {
        dropped.add(p.slab);
        free -= SLAB_BYTES;
      }
    }
    if (dropped.size === 0) return;
    this.free = this.free.filter((p) => !dropped.has(p.slab));
    this.slabs -= dropped.size;
    this.empty -= dropped.size;
  }
}

/** The pool the open batches of this process share. */
export const pages = new PagePool();
