/**
 * Per-key concurrency limit (key = endpoint origin): at most `limit` tasks of a key run at once, the
 * rest wait in FIFO order. The queue itself is bounded from outside: a task only exists for a record
 * that its partition window admitted, so waiting work never exceeds partitions × window.
 *
 * Tasks of "suspect" webhooks (failures in a row, or a half-open probe: circuit-breaker.ts) share at
 * most `suspectLimit` of a key's slots (half of them by default), one per webhook, and a freed slot goes
 * to a waiting healthy task first. So webhooks that hang on a shared origin hold at most half of it
 * while their circuits open, and their neighbours always find slots (issue 14's isolation).
 */
export class KeyedLimiter {
  private readonly limit: number;
  private readonly suspectLimit: number;
  private readonly keys = new Map<string, KeyState>();

  constructor(limit: number, suspectLimit = Math.max(1, Math.floor(limit / 2))) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
    if (!Number.isInteger(suspectLimit) || suspectLimit < 1 || suspectLimit > limit)
      throw new RangeError('suspectLimit must be an integer from 1 to limit');
    this.limit = limit;
    this.suspectLimit = suspectLimit;
  }

  /** Tasks running for `key` now. */
  active(key: string): number {
    return this.keys.get(key)?.running ?? 0;
  }

  /** Tasks running across all keys. */
  get total(): number {
    let n = 0;
    for (const k of this.keys.values()) n += k.running;
    return n;
  }

  /**
   * Runs `task` when the key has a free slot; the slot is released however the task ends. With
   * `suspect` (the webhook id of a suspect webhook), the task also needs a free suspect slot and none
   * of that webhook's tasks running.
   */
  async run<T>(key: string, task: () => Promise<T>, suspect?: string): Promise<T> {
    const k = this.stateOf(key);
    await this.acquire(k, suspect);
    try {
      return await task();
    } finally {
      this.release(key, k, suspect);
    }
  }

  private stateOf(key: string): KeyState {
    let k = this.keys.get(key);
    if (!k) {
      k = { running: 0, suspects: new Set(), normal: [], suspect: [] };
      this.keys.set(key, k);
    }
    return k;
  }

  private fits(k: KeyState, suspect: string | undefined): boolean {
    if (k.running >= this.limit) return false;
    return suspect === undefined || (k.suspects.size < this.suspectLimit && !k.suspects.has(suspect));
  }

  private take(k: KeyState, suspect: string | undefined): void {
    k.running += 1;
    if (suspect !== undefined) k.suspects.add(suspect);
  }

  private acquire(k: KeyState, suspect: string | undefined): Promise<void> {
    // Healthy tasks are FIFO. A waiting suspect task waits for its own webhook's running task (or a
    // full share), so another suspect webhook's newcomer that fits may start beside it.
    const lane = suspect === undefined ? k.normal : k.suspect;
    if ((suspect !== undefined || lane.length === 0) && this.fits(k, suspect)) {
      this.take(k, suspect);
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => lane.push({ suspect, resolve }));
  }

  private release(key: string, k: KeyState, suspect: string | undefined): void {
    k.running -= 1;
    if (suspect !== undefined) k.suspects.delete(suspect);
    // Healthy tasks first; then the first suspect task that fits (another webhook's may, when the
    // head's webhook still has a task running).
    while (k.normal.length > 0 && this.fits(k, undefined)) {
      const w = k.normal.shift()!;
      this.take(k, undefined);
      w.resolve();
    }
    for (let i = 0; i < k.suspect.length && k.running < this.limit && k.suspects.size < this.suspectLimit; ) {
      const w = k.suspect[i]!;
      if (!this.fits(k, w.suspect)) {
        i++;
        continue;
      }
      k.suspect.splice(i, 1);
      this.take(k, w.suspect);
      w.resolve();
    }
    if (k.running === 0 && k.normal.length === 0 && k.suspect.length === 0) this.keys.delete(key);
  }
}

interface Waiting {
  suspect: string | undefined;
  resolve: () => void;
}

interface KeyState {
  running: number;
  /** Suspect webhooks with a task running (one each). */
  suspects: Set<string>;
  normal: Waiting[];
  suspect: Waiting[];
}

/** The limiter key of a webhook URL: its origin (scheme, host, port), what undici pools by. */
export function endpointKey(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'invalid';
  }
}
