/**
 * Per-key concurrency limit (key = endpoint origin): at most `limit` tasks of a key run at once, the
 * rest wait in FIFO order. The queue itself is bounded from outside: a task only exists for a record
 * that its partition window admitted, so waiting work never exceeds partitions × window.
 */
export class KeyedLimiter {
  private readonly limit: number;
  private readonly running = new Map<string, number>();
  private readonly queues = new Map<string, (() => void)[]>();

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
    this.limit = limit;
  }

  /** Tasks running for `key` now. */
  active(key: string): number {
    return this.running.get(key) ?? 0;
  }

  /** Tasks running across all keys. */
  get total(): number {
    let n = 0;
    for (const v of this.running.values()) n += v;
    return n;
  }

  /** Runs `task` when the key has a free slot; the slot is released however the task ends. */
  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    await this.acquire(key);
    try {
      return await task();
    } finally {
      this.release(key);
    }
  }

  private acquire(key: string): Promise<void> {
    const n = this.running.get(key) ?? 0;
    if (n < this.limit) {
      this.running.set(key, n + 1);
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      let q = this.queues.get(key);
      if (!q) {
        q = [];
        this.queues.set(key, q);
      }
      // The slot passes directly to the waiter, so `running` stays at the limit.
      q.push(resolve);
    });
  }

  private release(key: string): void {
    const q = this.queues.get(key);
    const next = q?.shift();
    if (next) {
      if (q?.length === 0) this.queues.delete(key);
      next();
      return;
    }
    const n = (this.running.get(key) ?? 1) - 1;
    if (n === 0) this.running.delete(key);
    else this.running.set(key, n);
  }
}

/** The limiter key of a webhook URL: its origin (scheme, host, port), what undici pools by. */
export function endpointKey(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'invalid';
  }
}
